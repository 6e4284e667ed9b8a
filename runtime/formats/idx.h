// The IDX format of MNIST and Fashion-MNIST (unsigned bytes only), plain or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fernn {

struct IdxArray {
    std::vector<int> dims;      // e.g. {60000, 28, 28} for images, {60000} for labels
    std::vector<uint8_t> data;  // C order
};

// Largest payload accepted, and how many times its compressed size a gzip file of more than
// kGzipRatioFloor bytes may inflate to (real IDX files compress 2-5x; a "zip bomb" 1000x).
constexpr uint64_t kMaxIdxBytes = uint64_t(4) << 30;
constexpr uint64_t kMaxGzipRatio = 100;
constexpr uint64_t kGzipRatioFloor = uint64_t(64) << 20;

// Reads `path`, or `path.gz` when only that exists; any malformation is an InputError.
IdxArray read_idx(const std::string &path);
// The same from a file's bytes (uncompressed, or gzip); `path` names it in messages.
IdxArray parse_idx(const std::string &bytes, const std::string &path);
IdxArray parse_idx_gzip(const std::string &compressed, const std::string &path);
// Inflates gzip or zlib data, stopping after `most` bytes (the caller checks whether more
// would have come); corrupt or truncated data is an InputError naming `path`.
std::string inflate_gzip(const std::string &compressed, uint64_t most, const std::string &path);
// Writes uncompressed IDX, atomically.
void write_idx(const std::string &path, const IdxArray &array);
// True when `path` or `path.gz` exists.
bool idx_exists(const std::string &path);

}  // namespace fernn
