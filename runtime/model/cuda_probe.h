// Whether a CUDA device answers, asked of the driver directly (no Halide, no compiled model):
// `--device cuda` is refused at once on a machine without one, before minutes of compiling.
#pragma once

#include <string>

namespace fernn {

// "" when the driver loads and reports at least one device; otherwise why not.
std::string cuda_unavailable_reason();

// How many CUDA devices the driver reports (0 without a driver or device).
int cuda_device_count();

}  // namespace fernn
