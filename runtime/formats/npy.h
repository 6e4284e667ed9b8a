// NumPy .npy files (format versions 1.0-3.0), float32 or float64, C order. Sequences are
// (B, T, C, H, W). Reading converts to the requested element type; every malformed header,
// unsupported dtype, Fortran order or truncated payload is an InputError naming the file.
#pragma once

#include <string>

#include "runtime/formats/array.h"

namespace fernn {

template <typename T>
Array<T> read_npy(const std::string &path);

// Writes '<f4' for float and '<f8' for double, atomically (see atomic_file.h).
template <typename T>
void write_npy(const std::string &path, const Array<T> &array);

// The bytes of a .npy file, for writers that put them elsewhere.
template <typename T>
std::string encode_npy(const Array<T> &array);

}  // namespace fernn
