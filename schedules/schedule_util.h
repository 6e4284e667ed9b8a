// Small helpers shared by the CPU and CUDA schedules.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "Halide.h"
#include "generators/stages.h"

namespace fernn::sched {

// Largest divisor of n that is <= limit (>= 1). Tiles that divide the spec's fixed extents
// leave no tails, so no loop needs a guard or a rounded-up read past the tensor.
inline int divisor_at_most(int n, int limit) {
    for (int d = std::min(n, std::max(1, limit)); d > 1; --d) {
        if (n % d == 0) return d;
    }
    return 1;
}

// Every divisor of n, ascending: the tile sizes fernn tune tries along an extent of n.
inline std::vector<int> divisors(int n) {
    std::vector<int> out;
    for (int d = 1; d <= n; ++d) {
        if (n % d == 0) out.push_back(d);
    }
    return out;
}

// Invalid knobs are bad input (std::invalid_argument), named by stage and quoted.
[[noreturn]] inline void bad_knobs(const std::string &stage, const nlohmann::json &j,
                                   const std::string &why) {
    throw std::invalid_argument("schedule knobs for stage " + stage + " " + j.dump() + ": " + why);
}

// The "algorithm" knob of a conv or weight-gradient stage: absent means direct (records from
// before Winograd).
inline gen::ConvAlgorithm algorithm_knob(const std::string &stage, const nlohmann::json &j) {
    gen::ConvAlgorithm a = gen::ConvAlgorithm::Direct;
    if (!j.contains("algorithm")) return a;
    if (!j["algorithm"].is_string() ||
        !gen::algorithm_from_name(j["algorithm"].get<std::string>(), a))
        bad_knobs(stage, j, "algorithm must be \"direct\", \"winograd2\" or \"winograd4\"");
    return a;
}

// The same, for knobs about to schedule a stage: they must ask for the algorithm the stage was
// built with, since a Winograd stage has other Funcs to schedule than a direct one.
inline gen::ConvAlgorithm algorithm_knob(const std::string &stage, const nlohmann::json &j,
                                         gen::ConvAlgorithm built) {
    const gen::ConvAlgorithm a = algorithm_knob(stage, j);
    if (a != built)
        bad_knobs(stage, j, std::string("the stage was built ") + gen::algorithm_name(built));
    return a;
}

// Writes a stage's algorithm into its knobs. Direct is written as no key, so knobs and records
// from before Winograd stay byte-identical.
inline void put_algorithm(nlohmann::json &j, gen::ConvAlgorithm a) {
    if (a == gen::ConvAlgorithm::Direct) {
        j.erase("algorithm");
    } else {
        j["algorithm"] = gen::algorithm_name(a);
    }
}

// The algorithms a stage could switch to from `now`, the largest change first (F(4×4), F(2×2),
// direct), so the tuner tries them before small moves: only 3×3 stages with at least 4 input
// channels (below that the transforms cost more than they save), and only tiles that divide
// the width.
inline std::vector<gen::ConvAlgorithm> other_algorithms(int kernel, int in_channels, int width,
                                                        gen::ConvAlgorithm now) {
    std::vector<gen::ConvAlgorithm> out;
    if (kernel != 3 || in_channels < 4) return out;
    for (gen::ConvAlgorithm a : {gen::ConvAlgorithm::Winograd4, gen::ConvAlgorithm::Winograd2,
                                 gen::ConvAlgorithm::Direct}) {
        if (a != now && width % gen::winograd_tile(a) == 0) out.push_back(a);
    }
    return out;
}

// The algorithm each stage of a pipeline's knobs asks for: what the pipeline must be built
// with before they can schedule it.
inline gen::AlgorithmChoice algorithms_of(const nlohmann::json &knobs) {
    gen::AlgorithmChoice choice;
    if (!knobs.is_object()) return choice;
    for (const auto &item : knobs.items()) {
        if (item.value().is_object() && item.value().contains("algorithm"))
            choice.by_stage[item.key()] = algorithm_knob(item.key(), item.value());
    }
    return choice;
}

// A stage's name without the "$n" suffix Halide adds when a process defines a Func name more
// than once: records and knobs use the base name, so they match in any process.
inline std::string stage_name(const Halide::Func &f) {
    const std::string n = f.name();
    return n.substr(0, n.find('$'));
}

}  // namespace fernn::sched
