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

// Reads `path`, or `path.gz` when only that exists; any malformation is an InputError.
IdxArray read_idx(const std::string &path);
// Writes uncompressed IDX, atomically.
void write_idx(const std::string &path, const IdxArray &array);
// True when `path` or `path.gz` exists.
bool idx_exists(const std::string &path);

}  // namespace fernn
