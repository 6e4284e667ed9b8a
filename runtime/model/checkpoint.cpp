#include "runtime/model/checkpoint.h"

#include <cmath>

#include "runtime/data/rng.h"
#include "runtime/groups/cyclic_basis.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

template <typename T>
ParameterSet<T> ParameterSet<T>::zeros(const ModelPlan &plan) {
    ParameterSet<T> p;
    p.infos = plan.params;
    p.data.assign(size_t(plan.params_size()), T(0));
    return p;
}

template <typename T>
int ParameterSet<T>::index_of(const std::string &name) const {
    for (size_t i = 0; i < infos.size(); ++i) {
        if (infos[i].name == name) return static_cast<int>(i);
    }
    return -1;
}

template <typename T>
RunningStats<T> RunningStats<T>::initial(const ModelPlan &plan) {
    RunningStats<T> s;
    s.data.assign(size_t(plan.buffers_size()), T(0));
    for (const auto &b : plan.buffers)
        std::fill(s.data.begin() + b.offset, s.data.begin() + b.offset + b.numel(),
                  T(b.init.scale));
    s.counters.assign(plan.counters.size(), 0);
    return s;
}

template <typename T>
ModelWeights<T> init_weights(const ModelPlan &plan, uint64_t seed) {
    ModelWeights<T> w{ParameterSet<T>::zeros(plan), RunningStats<T>::initial(plan)};
    SplitMix64 rng{seed};
    for (size_t i = 0; i < w.params.infos.size(); ++i) {
        const Init init = w.params.infos[i].init;
        T *out = w.params.tensor(i);
        for (int64_t k = 0; k < w.params.infos[i].numel(); ++k) {
            const double element =
                init.element_scale.empty()
                    ? 1.0
                    : init.element_scale[size_t(k) % init.element_scale.size()];
            switch (init.kind) {
                case Init::Uniform:
                    out[k] = T((2.0 * rng.uniform() - 1.0) * init.scale * element);
                    break;
                case Init::Normal: {
                    // Box-Muller; 1 - u keeps the logarithm finite.
                    const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
                    out[k] = T(init.scale * element * std::sqrt(-2.0 * std::log(u1)) *
                               std::cos(2.0 * M_PI * u2));
                    break;
                }
                case Init::Constant:
                    out[k] = T(init.scale);
                    break;
            }
        }
    }
    return w;
}

// escnn's `filter` of a steerable conv: its weights expanded in its basis, as eval mode does.
template <typename T>
Array<T> expand_derived(const ModelPlan &plan, const DerivedInfo &d, const ParameterSet<T> &p) {
    const ConstantInfo &c = plan.constants.at(d.basis);
    SteerableBasis basis;
    basis.elements = int(c.shape[0]);
    basis.out_size = int(c.shape[1]);
    basis.in_size = int(c.shape[2]);
    basis.kernel = int(d.shape[3]);
    basis.values.assign(c.values.begin(), c.values.end());
    const T *weights = p.tensor(size_t(d.param));
    std::vector<float> w(weights, weights + plan.params.at(d.param).numel());
    const std::vector<float> filter =
        expand_steerable_filter(basis, w.data(), d.fields_out, d.fields_in);
    Array<T> a(d.shape);
    std::copy(filter.begin(), filter.end(), a.data.begin());
    return a;
}

template <typename T>
TensorFile<T> checkpoint_tensors(const ModelPlan &plan, const ModelWeights<T> &w) {
    TensorFile<T> file;
    for (size_t i = 0; i < plan.params.size(); ++i) {
        Array<T> a(plan.params[i].shape);
        std::copy(w.params.tensor(i), w.params.tensor(i) + a.numel(), a.data.begin());
        file.tensors.emplace_back(plan.params[i].name, std::move(a));
    }
    for (const auto &b : plan.buffers) {
        Array<T> a(b.shape);
        std::copy(w.stats.data.begin() + b.offset, w.stats.data.begin() + b.offset + b.numel(),
                  a.data.begin());
        file.tensors.emplace_back(b.name, std::move(a));
    }
    for (const auto &c : plan.constants) {
        Array<T> a(c.shape);
        std::copy(c.values.begin(), c.values.end(), a.data.begin());
        file.tensors.emplace_back(c.name, std::move(a));
    }
    for (const auto &d : plan.derived) {
        file.tensors.emplace_back(d.name, expand_derived(plan, d, w.params));
    }
    for (size_t i = 0; i < plan.counters.size(); ++i) {
        Array<int64_t> a(std::vector<int64_t>{});
        a.data[0] = w.stats.counters.at(i);
        file.integers.emplace_back(plan.counters[i], std::move(a));
    }
    return file;
}

template <typename T>
ModelWeights<T> load_checkpoint(const std::string &path, const ModelPlan &plan,
                                const std::string &model) {
    const TensorFile<T> file = read_safetensors<T>(path);
    ModelWeights<T> w{ParameterSet<T>::zeros(plan), RunningStats<T>::initial(plan)};
    // Every tensor of the plan, with its shape, for messages and lookups.
    std::map<std::string, std::vector<int64_t>> expected;
    std::string listing;
    auto expect = [&](const std::string &name, const std::vector<int64_t> &shape) {
        expected[name] = shape;
        listing += (listing.empty() ? "" : ", ") + name + " " + shape_text(shape);
    };
    for (const auto &p : plan.params) expect(p.name, p.shape);
    for (const auto &b : plan.buffers) expect(b.name, b.shape);
    for (const auto &c : plan.constants) expect(c.name, c.shape);
    for (const auto &d : plan.derived) expect(d.name, d.shape);
    for (const auto &c : plan.counters) expect(c, {});
    auto check = [&](const std::string &name, const std::vector<int64_t> &shape) {
        auto it = expected.find(name);
        if (it == expected.end()) {
            throw InputError(path + ": tensor \"" + name + "\" is not part of spec " + model +
                             "; expected: " + listing);
        }
        if (shape != it->second) {
            throw InputError(path + ": tensor \"" + name + "\" has shape " + shape_text(shape) +
                             " but spec " + model + " needs " + shape_text(it->second));
        }
    };
    for (const auto &[name, array] : file.tensors) check(name, array.shape);
    for (const auto &[name, array] : file.integers) check(name, array.shape);
    auto floats = [&](const std::string &name) -> const Array<T> & {
        const Array<T> *a = file.find(name);
        if (!a) {
            throw InputError(
                path + ": tensor \"" + name + "\" " + shape_text(expected[name]) +
                (file.find_integer(name) ? " is stored as I64, not a float type" : " is missing") +
                "; expected: " + listing);
        }
        return *a;
    };
    for (size_t i = 0; i < plan.params.size(); ++i) {
        const Array<T> &a = floats(plan.params[i].name);
        std::copy(a.data.begin(), a.data.end(), w.params.tensor(i));
    }
    for (const auto &b : plan.buffers) {
        const Array<T> &a = floats(b.name);
        std::copy(a.data.begin(), a.data.end(), w.stats.data.begin() + b.offset);
    }
    for (const auto &c : plan.constants) {
        const Array<T> &a = floats(c.name);
        for (size_t k = 0; k < c.values.size(); ++k) {
            // NaN never passes: the comparison is written so that it fails for NaN.
            if (!(std::abs(double(a.data[k]) - double(c.values[k])) <= c.tolerance)) {
                throw InputError(path + ": tensor \"" + c.name +
                                 "\" differs from the one the spec fixes (" +
                                 (c.tolerance > 0 ? "the steerable filter basis"
                                                  : "the flow's velocities in their order") +
                                 "); it was saved for another model");
            }
        }
    }
    // Derived tensors (escnn's `filter`) may be present or not (escnn drops them in train
    // mode); they are recomputed from the weights, so their values are not read.
    for (size_t i = 0; i < plan.counters.size(); ++i) {
        const Array<int64_t> *a = file.find_integer(plan.counters[i]);
        if (!a) {
            throw InputError(path + ": tensor \"" + plan.counters[i] + "\" (I64 scalar) is " +
                             (file.find(plan.counters[i]) ? "stored as floats" : "missing") +
                             "; expected: " + listing);
        }
        if (a->data[0] < 0)
            throw InputError(path + ": tensor \"" + plan.counters[i] + "\" is negative");
        w.stats.counters[i] = a->data[0];
    }
    return w;
}

template <typename T>
void save_checkpoint(const std::string &path, const ModelPlan &plan, const ModelWeights<T> &w,
                     const std::map<std::string, std::string> &metadata, const std::string &dtype) {
    TensorFile<T> file = checkpoint_tensors(plan, w);
    file.metadata = metadata;
    write_safetensors(path, file, dtype);
}

template <typename T>
void save_parameters(const std::string &path, const ParameterSet<T> &params,
                     const std::map<std::string, std::string> &metadata, const std::string &dtype) {
    TensorFile<T> file;
    file.metadata = metadata;
    for (size_t i = 0; i < params.infos.size(); ++i) {
        Array<T> a(params.infos[i].shape);
        std::copy(params.tensor(i), params.tensor(i) + a.numel(), a.data.begin());
        file.tensors.emplace_back(params.infos[i].name, std::move(a));
    }
    write_safetensors(path, file, dtype);
}

#define FERNN_CHECKPOINT(T)                                                                   \
    template struct ParameterSet<T>;                                                          \
    template struct RunningStats<T>;                                                          \
    template ModelWeights<T> init_weights<T>(const ModelPlan &, uint64_t);                    \
    template ModelWeights<T> load_checkpoint<T>(const std::string &, const ModelPlan &,       \
                                                const std::string &);                         \
    template TensorFile<T> checkpoint_tensors<T>(const ModelPlan &, const ModelWeights<T> &); \
    template Array<T> expand_derived<T>(const ModelPlan &, const DerivedInfo &,               \
                                        const ParameterSet<T> &);                             \
    template void save_checkpoint<T>(                                                         \
        const std::string &, const ModelPlan &, const ModelWeights<T> &,                      \
        const std::map<std::string, std::string> &, const std::string &);                     \
    template void save_parameters<T>(const std::string &, const ParameterSet<T> &,            \
                                     const std::map<std::string, std::string> &,              \
                                     const std::string &);
FERNN_CHECKPOINT(float)
FERNN_CHECKPOINT(double)

}  // namespace fernn
