// Hand-written CUDA schedules for the same stages as cpu_schedule.h (see generators/stages.h),
// with their knobs as JSON by stage:
//   conv         {"kind": "conv_cuda", "c_threads", "x_tile", "row_threads", "shared_input"}
//                threads over output channels (channels are innermost in memory: warps read
//                weights coalesced and the input as a broadcast), x_tile pixels per thread
//                accumulated in registers, row_threads rows of (y, velocity, batch) per block
//                sharing the weights through L1, blocks over the rest; the padded
//                input is a separate pass through global memory (L2), or with shared_input 1
//                staged per block in shared memory (which pays depends on the GPU: fernn tune)
//   weight_grad  {"kind": "weight_grad_cuda", "co_threads", "ci_threads", "batch_group"}
//                partial kernels per group of samples (rfactor) with one thread per
//                (co, ci, tap), summed over groups in a second kernel
// Pointwise and small-reduction stages get one thread per channel and a block per pixel row.
#pragma once

#include <nlohmann/json.hpp>

#include "generators/pipelines.h"

namespace fernn::sched {

constexpr int kCudaScheduleVersion = 3;  // 3: x tiles in registers, row_threads

nlohmann::json default_cuda_knobs(const gen::PipelineDef &def, int width);

// The knob sets one step away from `current` for `stage` that schedule_cuda accepts (at most
// 1024 threads a block), for fernn tune.
std::vector<nlohmann::json> cuda_knob_neighbors(const gen::PipelineDef &def,
                                                const std::string &stage,
                                                const nlohmann::json &current, int width);

// Schedules every stage of `def` for a CUDA target, using `knobs[stage]` where given.
nlohmann::json schedule_cuda(gen::PipelineDef &def, int width,
                             const nlohmann::json &knobs = nlohmann::json::object());

}  // namespace fernn::sched
