// NumPy .npy files (format versions 1.0-3.0), float32 or float64, C order. Sequences are
// (B, T, C, H, W). Reading converts to the requested element type; every malformed header,
// unsupported dtype, Fortran order or truncated payload is an InputError naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/formats/array.h"

namespace fernn {

// Longest header accepted (numpy writes ~128 bytes; format 2.0 allows 4 GiB).
constexpr size_t kMaxNpyHeaderBytes = 1 << 16;

template <typename T>
Array<T> read_npy(const std::string &path);
// The same from the file's bytes; `path` names it in messages.
template <typename T>
Array<T> parse_npy(const std::string &bytes, const std::string &path);

// The header of a .npy file read without its payload (for memory-mapping large files): the
// dtype, the shape and where the payload starts. Checks that the file holds exactly the payload
// the shape needs for its dtype ('|u1', '<f4', '<f8', '<i4' or '<i8').
struct NpyHeader {
    std::string descr;
    std::vector<int64_t> shape;
    size_t data_offset = 0;
};
NpyHeader read_npy_header(const std::string &path);
// The same from the file's first bytes (at least the header) and its size.
NpyHeader parse_npy_header(const std::string &head, uint64_t file_size, const std::string &path);

// A vector of integers ('<i8' or '<i4'), e.g. class labels (N,).
std::vector<int64_t> read_npy_integers(const std::string &path);
std::vector<int64_t> parse_npy_integers(const std::string &bytes, const std::string &path);

// Writes bytes ('|u1') of the given shape, atomically (clips of pixels).
void write_npy_bytes(const std::string &path, const std::vector<int64_t> &shape,
                     const std::vector<uint8_t> &values);

// Writes a vector of int64 ('<i8', shape (N,)), atomically.
void write_npy_integers(const std::string &path, const std::vector<int64_t> &values);

// Writes '<f4' for float and '<f8' for double, atomically (see atomic_file.h).
template <typename T>
void write_npy(const std::string &path, const Array<T> &array);

// The bytes of a .npy file, for writers that put them elsewhere.
template <typename T>
std::string encode_npy(const Array<T> &array);

}  // namespace fernn
