// Hand-written CPU schedules, one per kind of stage (see generators/stages.h). The knobs of
// each tunable stage are plain data (JSON, by stage name):
//   conv         {"kind": "conv", "lanes", "c_vectors", "x_tile", "vectorize_x"[, "algorithm"]}
//   weight_grad  {"kind": "weight_grad", "lanes", "c_vectors", "ci_unroll", "batch_group"[,
//                 "algorithm"]}
// "algorithm" ("direct", the default, "winograd2", "winograd4") chooses how a 3×3 stage is
// computed; the pipeline is built for it first (gen::AlgorithmChoice).
// default_knobs() derives them from the stage's shape and the target; `fernn tune` searches
// knob_neighbors() and records the winners in schedules/records/ (schedule_record.h).
#pragma once

#include <nlohmann/json.hpp>

#include "generators/pipelines.h"

namespace fernn::sched {

// Bump when a default schedule changes: compiled-model caches are keyed by it.
constexpr int kCpuScheduleVersion = 3;

// Register-tiled convolution: a tile of c_vectors × lanes output channels by x_tile pixels
// is accumulated in registers while the reduction walks input channels.
// Winograd (algorithm winograd2/4): the products of a row of tiles are accumulated in the same
// way, c_vectors × lanes output channels by x_tile tiles, for each transformed point.
struct ConvKnobs {
    int lanes;         // vector width (over channels, or over x when vectorize_x)
    int c_vectors;     // vectors of output channels per tile
    int x_tile;        // pixels per tile (divides the width); Winograd: tiles of m×m outputs
    bool vectorize_x;  // for stages with fewer output channels than a vector
    gen::ConvAlgorithm algorithm = gen::ConvAlgorithm::Direct;
};

// Weight gradient: partial sums over groups of `batch_group` samples run in parallel, each
// accumulating a c_vectors·lanes × ci_unroll block of the kernel across a row of pixels.
// Winograd: the same over the (m+2)² transformed points, summing tiles instead of pixels.
struct WeightGradKnobs {
    int lanes, c_vectors, ci_unroll, batch_group;
    gen::ConvAlgorithm algorithm = gen::ConvAlgorithm::Direct;
};

// Knobs of every tunable stage of `def`, by stage name.
nlohmann::json default_knobs(const gen::PipelineDef &def, int width, const Halide::Target &t);

// Valid knobs for one stage that differ from `current` in exactly one knob (coordinate
// descent for fernn tune).
std::vector<nlohmann::json> knob_neighbors(const gen::PipelineDef &def, const std::string &stage,
                                           const nlohmann::json &current, int width);

// Schedules every stage of `def`, using `knobs[stage]` where given and defaults elsewhere;
// returns the knobs used. Invalid knobs throw std::invalid_argument naming the stage.
nlohmann::json schedule_cpu(gen::PipelineDef &def, int width, const Halide::Target &t,
                            const nlohmann::json &knobs = nlohmann::json::object());

}  // namespace fernn::sched
