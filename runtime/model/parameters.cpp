#include "runtime/model/parameters.h"

#include <algorithm>
#include <stdexcept>

namespace fernn {

namespace {

// The number of elements of a flat buffer holding `entries`.
template <typename Info>
int64_t flat_size(const std::vector<Info> &entries) {
    int64_t total = 0;
    for (const auto &e : entries) total = std::max(total, e.offset + e.numel());
    return total;
}

}  // namespace

template <typename T>
template <typename Info>
FlatTensors<T>::FlatTensors(const ModelLibrary &lib, const std::vector<Info> &entries) {
    const int64_t total = flat_size(entries);
    if (total == 0) return;  // e.g. no BatchNorm: nothing to allocate
    flat_ = Tensor<T>(lib, {int(total)});
    make_views(entries);
}

template <typename T>
template <typename Info>
FlatTensors<T>::FlatTensors(const ModelLibrary &lib, const std::vector<Info> &entries,
                            T *external) {
    const int64_t total = flat_size(entries);
    if (total == 0) return;
    flat_ = Tensor<T>::wrap(lib, external, {int(total)});
    make_views(entries);
}

template <typename T>
template <typename Info>
void FlatTensors<T>::make_views(const std::vector<Info> &entries) {
    for (const auto &e : entries) {
        std::vector<int> extents;
        for (auto it = e.shape.rbegin(); it != e.shape.rend(); ++it) extents.push_back(int(*it));
        tensors_.push_back(flat_.view(size_t(e.offset), extents));
        flats_.push_back(flat_.view(size_t(e.offset), {int(e.numel())}));
    }
}

template <typename T>
void Parameters<T>::upload(const ParameterSet<T> &host) {
    if (host.data.size() != this->size())
        throw std::logic_error("Parameters::upload: size mismatch");
    FlatTensors<T>::upload(host.data.data());
}

template <typename T>
void Parameters<T>::download(ParameterSet<T> &host) {
    if (host.data.size() != this->size())
        throw std::logic_error("Parameters::download: size mismatch");
    FlatTensors<T>::download(host.data.data());
}

template <typename T>
FlatTensors<T> &Parameters<T>::constants() {
    if (!constants_) {
        const ModelPlan &plan = lib_.plan();
        constants_ = std::make_unique<FlatTensors<T>>(lib_, plan.constants);
        const std::vector<T> host = constant_values<T>(plan);
        if (!host.empty()) constants_->upload(host.data());
    }
    return *constants_;
}

template <typename T>
std::vector<T> constant_values(const ModelPlan &plan) {
    std::vector<T> host(size_t(plan.constants_size()), T(0));
    for (const auto &c : plan.constants)
        std::copy(c.values.begin(), c.values.end(), host.begin() + c.offset);
    return host;
}

template <typename T>
Statistics<T>::Statistics(const ModelLibrary &lib) : counters_(lib.plan().counters.size(), 0) {
    for (auto &c : copies_) c = std::make_unique<FlatTensors<T>>(lib, lib.plan().buffers);
}

template <typename T>
void Statistics<T>::advance() {
    current_ = 1 - current_;
    for (auto &c : counters_) ++c;
}

template <typename T>
void Statistics<T>::set_counters(std::vector<int64_t> counters) {
    if (counters.size() != counters_.size())
        throw std::logic_error("Statistics::set_counters: counter mismatch");
    counters_ = std::move(counters);
}

template <typename T>
void Statistics<T>::upload(const RunningStats<T> &host) {
    set_counters(host.counters);
    if (!host.data.empty()) current().upload(host.data.data());
}

template <typename T>
void Statistics<T>::download(RunningStats<T> &host) {
    host.data.resize(current().size());
    if (!host.data.empty()) current().download(host.data.data());
    host.counters = counters_;
}

template <typename T>
Binder<T>::Binder(const ModelLibrary &lib, const PipelineSignature &signature)
    : signature_(signature), call_(lib.call(signature)) {}

template <typename T>
Binder<T> &Binder<T>::data(const std::string &name, Tensor<T> &tensor) {
    call_.bind(name, *tensor.buffer());
    return *this;
}

template <typename T>
Binder<T> &Binder<T>::scalar(const std::string &name, double value) {
    call_.scalar(name, value);
    return *this;
}

template <typename T>
Binder<T> &Binder<T>::params(Parameters<T> &params) {
    for (const Argument &a : signature_.inputs)
        if (a.source == Source::Param) call_.bind(a.name, *params.tensor(size_t(a.index)).buffer());
    for (const Argument &a : signature_.inputs)
        if (a.source == Source::Constant)
            call_.bind(a.name, *params.constants().tensor(size_t(a.index)).buffer());
    return *this;
}

template <typename T>
Binder<T> &Binder<T>::grads(Parameters<T> &grads) {
    for (const Argument &a : signature_.outputs)
        if (a.source == Source::Grad) call_.bind(a.name, *grads.tensor(size_t(a.index)).buffer());
    return *this;
}

template <typename T>
Binder<T> &Binder<T>::stats(Statistics<T> &stats) {
    for (const Argument &a : signature_.inputs)
        if (a.source == Source::Buffer)
            call_.bind(a.name, *stats.current().tensor(size_t(a.index)).buffer());
    for (const Argument &a : signature_.outputs)
        if (a.source == Source::BufferNext)
            call_.bind(a.name, *stats.next().tensor(size_t(a.index)).buffer());
    return *this;
}

template <typename T>
Tensor<T> take(TensorPool<T> &pool, const ModelLibrary &lib, const TensorType &type, int batch) {
    return pool.take(lib, halide_extents(type, lib.plan().geometry, batch));
}

#define FERNN_PARAMETERS(T)                                                                      \
    template class FlatTensors<T>;                                                               \
    template FlatTensors<T>::FlatTensors(const ModelLibrary &, const std::vector<ParamInfo> &);  \
    template FlatTensors<T>::FlatTensors(const ModelLibrary &, const std::vector<ParamInfo> &,   \
                                         T *);                                                   \
    template FlatTensors<T>::FlatTensors(const ModelLibrary &, const std::vector<BufferInfo> &); \
    template FlatTensors<T>::FlatTensors(const ModelLibrary &,                                   \
                                         const std::vector<ConstantInfo> &);                     \
    template class Parameters<T>;                                                                \
    template class Statistics<T>;                                                                \
    template std::vector<T> constant_values<T>(const ModelPlan &);                               \
    template class Binder<T>;                                                                    \
    template Tensor<T> take<T>(TensorPool<T> &, const ModelLibrary &, const TensorType &, int);
FERNN_PARAMETERS(float)
FERNN_PARAMETERS(double)

}  // namespace fernn
