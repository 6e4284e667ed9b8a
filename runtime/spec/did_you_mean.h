// "did you mean ...": the allowed name closest to a misspelt one, for messages about unknown
// keys, missing fields and unknown subcommands.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

namespace fernn {

// Edits (insert, delete, substitute, swap two neighbours) from a to b; names longer than 64
// characters are never close to anything.
inline size_t edit_distance(const std::string &a, const std::string &b) {
    if (a.size() > 64 || b.size() > 64) return SIZE_MAX;
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                                d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

// The candidate closest to `name` within a third of its length (at least 1, at most 3 edits),
// or "" when none is that close.
inline std::string closest_name(const std::string &name, const std::vector<std::string> &candidates) {
    const size_t most = std::clamp<size_t>(name.size() / 3, 1, 3);
    std::string best;
    size_t best_distance = most + 1;
    for (const auto &c : candidates) {
        const size_t d = edit_distance(name, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

}  // namespace fernn
