// Model parameters in one contiguous buffer (gradients and optimizer state share its layout),
// their PyTorch-default initialization, and safetensors checkpoints with the reference
// state_dict names and OIHW layouts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/formats/array.h"
#include "runtime/formats/safetensors.h"
#include "runtime/spec/spec.h"

namespace fernn {

template <typename T>
struct ParameterSet {
    std::vector<ParamInfo> infos;
    std::vector<int64_t> offsets;  // of each tensor in data
    AlignedVector<T> data;

    static ParameterSet zeros(const Spec &spec);
    T *tensor(size_t i) { return data.data() + offsets[i]; }
    const T *tensor(size_t i) const { return data.data() + offsets[i]; }
    int index_of(const std::string &name) const;  // -1 if absent
};

// As PyTorch's Conv2d.reset_parameters(): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every
// weight, from a fixed-algorithm generator (splitmix64) so a seed means the same everywhere.
template <typename T>
ParameterSet<T> init_parameters(const Spec &spec, uint64_t seed);

// Every tensor of the spec must be present with its exact shape, and nothing else.
template <typename T>
ParameterSet<T> load_checkpoint(const std::string &path, const Spec &spec);

template <typename T>
void save_parameters(const std::string &path, const ParameterSet<T> &params,
                     const std::map<std::string, std::string> &metadata, const std::string &dtype);

}  // namespace fernn
