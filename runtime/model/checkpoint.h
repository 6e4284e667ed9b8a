// A model's weights on the host: the learnable parameters in one flat buffer (gradients and
// Adam's moments share its layout), BatchNorm running statistics in another with their
// num_batches_tracked counters; their PyTorch-default initialization; and safetensors
// checkpoints with the reference state_dict names and layouts (OIHW), plus the plan's
// constants (the reference's shift kernels), so a checkpoint loads into the reference with
// load_state_dict(strict=True).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "runtime/formats/array.h"
#include "runtime/formats/safetensors.h"
#include "runtime/plan/plan.h"

namespace fernn {

template <typename T>
struct ParameterSet {
    std::vector<ParamInfo> infos;
    AlignedVector<T> data;

    static ParameterSet zeros(const ModelPlan &plan);
    T *tensor(size_t i) { return data.data() + infos[i].offset; }
    const T *tensor(size_t i) const { return data.data() + infos[i].offset; }
    int index_of(const std::string &name) const;  // -1 if absent
};

// BatchNorm running statistics (plan.buffers layout) and counters (plan.counters).
template <typename T>
struct RunningStats {
    AlignedVector<T> data;
    std::vector<int64_t> counters;
    // running_mean 0, running_var 1, counters 0, as BatchNorm2d starts.
    static RunningStats initial(const ModelPlan &plan);
};

template <typename T>
struct ModelWeights {
    ParameterSet<T> params;
    RunningStats<T> stats;
};

// As PyTorch initializes each module (Conv2d/Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in));
// BatchNorm: ones and zeros; learned flow kernels: kaiming normal), from a fixed-algorithm
// generator (splitmix64) so a seed means the same everywhere.
template <typename T>
ModelWeights<T> init_weights(const ModelPlan &plan, uint64_t seed);

// Every tensor of the plan (parameters, buffers, counters, constants) must be present with
// its exact shape, and nothing else; constants must hold the plan's values. `model` names the
// spec in messages.
template <typename T>
ModelWeights<T> load_checkpoint(const std::string &path, const ModelPlan &plan,
                                const std::string &model);

template <typename T>
void save_checkpoint(const std::string &path, const ModelPlan &plan, const ModelWeights<T> &w,
                     const std::map<std::string, std::string> &metadata, const std::string &dtype);

// Parameters alone (gradients), by their names.
template <typename T>
void save_parameters(const std::string &path, const ParameterSet<T> &params,
                     const std::map<std::string, std::string> &metadata, const std::string &dtype);

// A derived tensor (escnn's `filter` of a steerable conv) from the parameters it expands.
template <typename T>
Array<T> expand_derived(const ModelPlan &plan, const DerivedInfo &d, const ParameterSet<T> &p);

// The tensors of a checkpoint file, for writers that add their own (the trainer's Adam state).
template <typename T>
TensorFile<T> checkpoint_tensors(const ModelPlan &plan, const ModelWeights<T> &w);

}  // namespace fernn
