#include "runtime/model/checkpoint.h"

#include <cmath>

#include "runtime/spec/json_reader.h"
#include "runtime/data/rng.h"

namespace fernn {

template <typename T>
ParameterSet<T> ParameterSet<T>::zeros(const Spec &spec) {
    ParameterSet<T> p;
    p.infos = spec.parameters();
    int64_t at = 0;
    for (const auto &info : p.infos) {
        p.offsets.push_back(at);
        at += info.numel();
    }
    p.data.assign(at, T(0));
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
ParameterSet<T> init_parameters(const Spec &spec, uint64_t seed) {
    ParameterSet<T> p = ParameterSet<T>::zeros(spec);
    SplitMix64 rng{seed};
    for (size_t i = 0; i < p.infos.size(); ++i) {
        // kaiming_uniform_(a=sqrt(5)) gives bound gain·sqrt(3/fan_in) = 1/sqrt(fan_in).
        const double bound = 1.0 / std::sqrt(double(p.infos[i].fan_in()));
        T *w = p.tensor(i);
        for (int64_t k = 0; k < p.infos[i].numel(); ++k)
            w[k] = T((2.0 * rng.uniform() - 1.0) * bound);
    }
    return p;
}

template <typename T>
ParameterSet<T> load_checkpoint(const std::string &path, const Spec &spec) {
    const TensorFile<T> file = read_safetensors<T>(path);
    ParameterSet<T> p = ParameterSet<T>::zeros(spec);
    std::string expected;
    for (const auto &info : p.infos)
        expected += (expected.empty() ? "" : ", ") + info.name + " " + shape_text(info.shape);
    for (const auto &[name, array] : file.tensors) {
        const int i = p.index_of(name);
        if (i < 0) {
            throw InputError(path + ": tensor \"" + name + "\" is not a parameter of spec " +
                             spec.name + "; expected: " + expected);
        }
        if (array.shape != p.infos[i].shape) {
            throw InputError(path + ": tensor \"" + name + "\" has shape " +
                             shape_text(array.shape) + " but spec " + spec.name + " needs " +
                             shape_text(p.infos[i].shape));
        }
        std::copy(array.data.begin(), array.data.end(), p.tensor(i));
    }
    for (const auto &info : p.infos) {
        if (!file.find(info.name)) {
            throw InputError(path + ": tensor \"" + info.name + "\" " + shape_text(info.shape) +
                             " is missing; expected: " + expected);
        }
    }
    return p;
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

template struct ParameterSet<float>;
template struct ParameterSet<double>;
template ParameterSet<float> init_parameters<float>(const Spec &, uint64_t);
template ParameterSet<double> init_parameters<double>(const Spec &, uint64_t);
template ParameterSet<float> load_checkpoint<float>(const std::string &, const Spec &);
template ParameterSet<double> load_checkpoint<double>(const std::string &, const Spec &);
template void save_parameters<float>(const std::string &, const ParameterSet<float> &,
                                     const std::map<std::string, std::string> &,
                                     const std::string &);
template void save_parameters<double>(const std::string &, const ParameterSet<double> &,
                                      const std::map<std::string, std::string> &,
                                      const std::string &);

}  // namespace fernn
