// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the tensor bytes. Checkpoints are float32 with the reference PyTorch state_dict names,
// so `model.load_state_dict(safetensors.torch.load_file(path))` works on them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/formats/array.h"

namespace fernn {

template <typename T>
struct TensorFile {
    std::vector<std::pair<std::string, Array<T>>> tensors;  // in file order of offsets
    // I64 tensors (PyTorch's BatchNorm num_batches_tracked), in file order of offsets.
    std::vector<std::pair<std::string, Array<int64_t>>> integers;
    std::map<std::string, std::string> metadata;

    const Array<T> *find(const std::string &name) const;
    const Array<int64_t> *find_integer(const std::string &name) const;
};

// Reads F32 or F64 tensors converting to T, and I64 tensors. Validates the header
// completely: offsets inside the file, no overlaps or holes, byte sizes matching shapes
// (checked before anything is allocated).
template <typename T>
TensorFile<T> read_safetensors(const std::string &path);
// The same from the file's bytes; `path` names it in messages.
template <typename T>
TensorFile<T> parse_safetensors(const std::string &bytes, const std::string &path);

// Longest JSON header accepted (the format's reference implementation allows 100 MB).
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

// Writes tensors as `dtype` ("F32" or "F64"), then the integers as I64, in the given order,
// atomically.
template <typename T>
void write_safetensors(const std::string &path, const TensorFile<T> &file,
                       const std::string &dtype = sizeof(T) == 4 ? "F32" : "F64");

}  // namespace fernn
