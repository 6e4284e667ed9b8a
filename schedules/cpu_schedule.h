// Hand-written CPU schedules, one per kind of stage (see generators/stages.h). The knobs of
// each stage are plain data, chosen from the stage's shape and the target by default_knobs();
// `fernn tune` (a later issue) will search them and record winners beside this file.
#pragma once

#include <nlohmann/json.hpp>

#include "../generators/pipelines.h"

namespace fernn::sched {

// Bump when a default schedule changes: compiled-model caches are keyed by it.
constexpr int kCpuScheduleVersion = 1;

// Register-tiled convolution: a tile of c_vectors × lanes output channels by x_tile pixels
// is accumulated in registers while the reduction walks input channels.
struct ConvKnobs {
    int lanes;         // vector width (over channels, or over x when vectorize_x)
    int c_vectors;     // vectors of output channels per tile
    int x_tile;        // pixels per tile (divides the width)
    bool vectorize_x;  // for stages with fewer output channels than a vector
};

// Weight gradient: partial sums over groups of `batch_group` samples run in parallel, each
// accumulating a c_vectors·lanes × ci_unroll block of the kernel across a row of pixels.
struct WeightGradKnobs {
    int lanes, c_vectors, ci_unroll, batch_group;
};

ConvKnobs default_conv_knobs(const gen::ConvStage &s, int width, const Halide::Target &t);
WeightGradKnobs default_weight_grad_knobs(const gen::WeightGradStage &s, const Halide::Target &t);

// Schedules every stage of `def`; returns the knobs used, for the manifest.
nlohmann::json schedule_cpu(gen::PipelineDef &def, int width, int height, const Halide::Target &t);

}  // namespace fernn::sched
