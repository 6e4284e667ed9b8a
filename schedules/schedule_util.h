// Small helpers shared by the CPU and CUDA schedules.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "Halide.h"

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

// A stage's name without the "$n" suffix Halide adds when a process defines a Func name more
// than once: records and knobs use the base name, so they match in any process.
inline std::string stage_name(const Halide::Func &f) {
    const std::string n = f.name();
    return n.substr(0, n.find('$'));
}

}  // namespace fernn::sched
