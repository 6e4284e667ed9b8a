// Sizes computed from untrusted files. Every product of dimensions is checked for overflow and
// compared with the bytes the file really holds (or a documented limit) before anything is
// allocated: a 16-byte file must not be able to ask for gigabytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fernn {

// Most dimensions an array read from a file may have (NumPy's own limit is 32 or 64).
constexpr size_t kMaxArrayDims = 32;

// `item` times the product of `shape`, or nothing when a dimension is negative or the product
// overflows 64 bits.
inline std::optional<uint64_t> shape_bytes(const std::vector<int64_t> &shape, uint64_t item) {
    uint64_t n = item;
    for (int64_t d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, uint64_t(d), &n)) return std::nullopt;
    }
    return n;
}

// Bytes of the file, with non-printable ones escaped, cut to at most `most` characters: what
// a message may quote of a binary file's header.
inline std::string printable_prefix(const std::string &bytes, size_t most) {
    static const char *hex = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (out.size() >= most) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += char(c);
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

}  // namespace fernn
