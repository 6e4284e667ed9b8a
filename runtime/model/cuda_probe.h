// Whether a CUDA device answers, asked of the driver directly (no Halide, no compiled model):
// `--device cuda` is refused at once on a machine without one, before minutes of compiling.
#pragma once

#include <string>

namespace fernn {

// "" when the driver loads and reports at least one device; otherwise why not. `devices`, when
// given, receives how many (0 without a driver or device).
std::string cuda_unavailable_reason(int *devices = nullptr);

// The memory of the GPU this process uses (HL_GPU_DEVICE, else device 0) in bytes, as the
// driver reports it; 0 when unknown.
double cuda_device_memory_bytes();

}  // namespace fernn
