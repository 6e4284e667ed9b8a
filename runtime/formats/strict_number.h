// Numbers in text that came from a file (checkpoint metadata, dataset index files): the whole
// text must be the number, in range. std::stoll would accept "12x", " 12" and "-100" and throw
// library exceptions on the rest.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

namespace fernn {

// Decimal digits with an optional leading '-', in [lo, hi].
inline std::optional<int64_t> parse_int64(const std::string &text, int64_t lo, int64_t hi) {
    size_t i = text.size() > 1 && text[0] == '-' ? 1 : 0;
    if (i == text.size() || text.size() - i > 18) return std::nullopt;  // no overflow below
    int64_t v = 0;
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return std::nullopt;
        v = v * 10 + (text[i] - '0');
    }
    if (text[0] == '-') v = -v;
    if (v < lo || v > hi) return std::nullopt;
    return v;
}

// A finite decimal number as printed by %.17g; "inf" and "-inf" only when `infinite_ok`.
inline std::optional<double> parse_real(const std::string &text, bool infinite_ok) {
    if (infinite_ok && (text == "inf" || text == "-inf"))
        return text[0] == '-' ? -INFINITY : INFINITY;
    if (text.empty() || text.size() > 64) return std::nullopt;
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
            return std::nullopt;  // rules out "nan", "0x1p3", spaces
    }
    char *end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(v))
        return std::nullopt;
    return v;
}

}  // namespace fernn
