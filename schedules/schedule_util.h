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
