// Structure-aware mutations for the fuzzers. libFuzzer's byte mutations rarely produce the
// inputs that broke fernn's readers: 60,000 nested brackets, a 30 KB .npy header, dimensions
// whose product wraps around 2^64, a gzip stream that inflates a thousandfold. Each harness
// defines LLVMFuzzerCustomMutator with FERNN_FUZZ_MUTATOR(kind); one mutation in four is
// structural, the rest are libFuzzer's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>
#include <string>

#include "tests/gzip_bytes.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

namespace fernn::fuzz {

enum class Kind { Json, Npy, Safetensors, Idx };

inline std::string little_endian(uint64_t v, int bytes) {
    std::string out;
    for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
    return out;
}

inline std::string big_endian32(uint32_t v) {
    return std::string{char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff),
                       char(v & 0xff)};
}

// Numbers at the edges of every integer and floating type a reader converts to.
inline const char *extreme_number(std::mt19937_64 &rng) {
    static const char *numbers[] = {"0",
                                    "-1",
                                    "-0",
                                    "1e400",
                                    "-1e400",
                                    "1e-400",
                                    "2147483647",
                                    "2147483648",
                                    "4294967296",
                                    "9007199254740993",
                                    "9223372036854775807",
                                    "9223372036854775808",
                                    "18446744073709551615",
                                    "18446744073709551616",
                                    "4611686018427387904",
                                    "1.5",
                                    "3.0",
                                    "1e9",
                                    "NaN",
                                    "\"12\""};
    return numbers[rng() % (sizeof numbers / sizeof *numbers)];
}

// Replaces a run of digits (or, failing that, a random position) with an extreme number.
inline void replace_number(std::string &s, std::mt19937_64 &rng) {
    const char *n = extreme_number(rng);
    size_t at = s.empty() ? 0 : rng() % s.size();
    const size_t digit = s.find_first_of("0123456789", at);
    if (digit != std::string::npos) at = digit;
    size_t end = at;
    while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '.'))
        ++end;
    s.replace(at, end - at, n);
}

// Wraps a random span in `depth` brackets: deep nesting anywhere in a document.
inline void nest(std::string &s, std::mt19937_64 &rng, size_t depth) {
    const size_t a = s.empty() ? 0 : rng() % (s.size() + 1);
    const size_t b = a + (s.size() - a == 0 ? 0 : rng() % (s.size() - a + 1));
    const bool objects = rng() % 2;
    std::string open, close;
    for (size_t i = 0; i < depth; ++i) {
        open += objects ? "{\"a\":" : "[";
        close += objects ? "}" : "]";
    }
    s = s.substr(0, a) + open + s.substr(a, b - a) + close + s.substr(b);
}

inline void mutate_json(std::string &s, std::mt19937_64 &rng) {
    switch (rng() % 5) {
        case 0:
            nest(s, rng, 1 + rng() % 70000);
            break;
        case 1:
            replace_number(s, rng);
            break;
        case 2: {  // a long string value or key
            const size_t at = s.empty() ? 0 : rng() % s.size();
            s.insert(at, "\"" + std::string(1 + rng() % 100000, char('a' + rng() % 26)) + "\"");
            break;
        }
        case 3: {  // duplicate a span (duplicate keys, repeated entries)
            if (s.empty()) break;
            const size_t a = rng() % s.size(), n = 1 + rng() % std::min<size_t>(64, s.size() - a);
            s.insert(a, s.substr(a, n));
            break;
        }
        default:  // invalid UTF-8 and control characters
            s.insert(s.empty() ? 0 : rng() % s.size(), std::string("\xc3\x28\xff\x01", 1 + rng() % 4));
            break;
    }
}

inline std::string npy_file(const std::string &dict, int version, size_t payload) {
    std::string out("\x93NUMPY", 6);
    out.push_back(char(version));
    out.push_back('\0');
    out += little_endian(dict.size(), version == 1 ? 2 : 4);
    return out + dict + std::string(payload, '\0');
}

inline void mutate_npy(std::string &s, std::mt19937_64 &rng) {
    static const char *shapes[] = {"(4611686018427387904, 4)", "(0, 18446744073709551615)",
                                   ("(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, "
                                    "19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33)"),
                                   "(3037000500, 3037000500)", "()", "(2,)", "(-1,)",
                                   "(1, 2, 1, 2, 2)", "(999999999999999999999,)"};
    static const char *types[] = {"<f4", "<f8", "<i8", "<i4", "|u1", ">f4", "|O", "<c8"};
    switch (rng() % 3) {
        case 0: {  // a plausible header with hostile shape and dtype
            const std::string dict = std::string("{'descr': '") + types[rng() % 8] +
                                     "', 'fortran_order': False, 'shape': " +
                                     shapes[rng() % 9] + ", }";
            s = npy_file(dict, 1, rng() % 64);
            break;
        }
        case 1: {  // a long header (format 2.0), padded as numpy pads
            const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" +
                                     std::string(rng() % 70000, ' ') + "\n";
            s = npy_file(dict, 2, 8);
            break;
        }
        default:  // a header length that lies
            if (s.size() >= 12) {
                const std::string len = little_endian(rng(), s[6] == 1 ? 2 : 4);
                s.replace(8, len.size(), len);
            }
            break;
    }
}

inline void mutate_safetensors(std::string &s, std::mt19937_64 &rng) {
    if (s.size() < 8) s = little_endian(2, 8) + "{}";
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t(s[i])) << (8 * i);
    std::string header = n <= s.size() - 8 ? s.substr(8, n) : s.substr(8);
    std::string data = n <= s.size() - 8 ? s.substr(8 + n) : "";
    switch (rng() % 3) {
        case 0:
            mutate_json(header, rng);
            break;
        case 1:  // a huge shape on a small span
            header = "{\"t\":{\"dtype\":\"F32\",\"shape\":[" + std::string(extreme_number(rng)) +
                     "," + extreme_number(rng) + "],\"data_offsets\":[0," +
                     std::to_string(data.size()) + "]}}";
            break;
        default:  // a header length that lies
            s = little_endian(rng() % 2 ? rng() : rng() % (s.size() + 16), 8) + s.substr(8);
            return;
    }
    s = little_endian(header.size(), 8) + header + data;
}

inline void mutate_idx(std::string &s, std::mt19937_64 &rng) {
    switch (rng() % 3) {
        case 0: {  // dimensions whose product wraps, or claims far more than the file holds
            const int dims = 1 + int(rng() % 6);
            std::string out{'\0', '\0', '\x08', char(dims)};
            for (int i = 0; i < dims; ++i) {
                const uint32_t choices[] = {0, 1, 28, 1u << 30, 0xffffffffu, 65536, 60000};
                out += big_endian32(choices[rng() % 7]);
            }
            s = out + s.substr(std::min(s.size(), size_t(4 + 4 * dims)));
            break;
        }
        case 1:  // the same file gzip-compressed (parse_idx_gzip reaches the header)
            s = test::gzip_bytes(s);
            break;
        default: {  // a bomb: zeros compress 1000x; the header claims less, as much or more
            const uint32_t n = 1 + uint32_t(rng() % 4096);
            std::string plain{'\0', '\0', '\x08', '\x03'};
            plain += big_endian32(n) + big_endian32(512) + big_endian32(512);
            const uint64_t claimed = uint64_t(n) * 512 * 512;
            const uint64_t sizes[] = {claimed / 2, claimed, claimed + 1, claimed * 2};
            plain += std::string(size_t(std::min<uint64_t>(sizes[rng() % 4], 8u << 20)), '\0');
            s = test::gzip_bytes(plain);
            break;
        }
    }
}

inline size_t mutate(Kind kind, uint8_t *data, size_t size, size_t max_size, unsigned seed) {
    std::mt19937_64 rng(seed);
    if (rng() % 4 != 0) return LLVMFuzzerMutate(data, size, max_size);
    std::string s(reinterpret_cast<const char *>(data), size);
    switch (kind) {
        case Kind::Json:
            mutate_json(s, rng);
            break;
        case Kind::Npy:
            mutate_npy(s, rng);
            break;
        case Kind::Safetensors:
            mutate_safetensors(s, rng);
            break;
        case Kind::Idx:
            mutate_idx(s, rng);
            break;
    }
    if (s.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
    std::memcpy(data, s.data(), s.size());
    return s.size();
}

}  // namespace fernn::fuzz

#define FERNN_FUZZ_MUTATOR(kind)                                                            \
    extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, \
                                              unsigned int seed) {                          \
        return fernn::fuzz::mutate(kind, data, size, max_size, seed);                      \
    }
