// A model's weights on its device: the parameters (or their gradients) in one contiguous
// buffer with a view per tensor, BatchNorm running statistics likewise, and how pipeline
// calls bind them by the plan: a call binds every parameter, gradient and statistic its
// signature declares, so the runtime never lists which pipeline reads which weight.
#pragma once

#include <vector>

#include "runtime/model/checkpoint.h"
#include "runtime/model/device_tensor.h"

namespace fernn {

// One flat device tensor with a view per entry, in the layout of `entries` (offsets, shapes).
template <typename T>
class FlatTensors {
  public:
    template <typename Info>
    FlatTensors(const ModelLibrary &lib, const std::vector<Info> &entries);
    // Over a caller's CPU memory of that layout, read and written in place (Tensor::wrap).
    template <typename Info>
    FlatTensors(const ModelLibrary &lib, const std::vector<Info> &entries, T *external);
    void upload(const T *host) { flat_.upload(host); }
    void download(T *host) { flat_.download(host); }
    void fill(T value) { flat_.fill(value); }
    Tensor<T> &flat() { return flat_; }
    Tensor<T> &tensor(size_t i) { return tensors_.at(i); }     // as the pipelines take it
    Tensor<T> &flat_tensor(size_t i) { return flats_.at(i); }  // the same memory, 1-D
    size_t count() const { return tensors_.size(); }
    size_t size() const { return flat_.size(); }

  private:
    template <typename Info>
    void make_views(const std::vector<Info> &entries);
    Tensor<T> flat_;
    std::vector<Tensor<T>> tensors_, flats_;
};

// The plan's constants in their flat layout (plan.constants_size() elements), as pipelines and
// the C API read them.
template <typename T>
std::vector<T> constant_values(const ModelPlan &plan);

// The learnable parameters (plan.params), or gradients in their layout. The plan's constants
// that pipelines read with the parameters (steerable filter bases) live here too, uploaded
// on first use.
template <typename T>
class Parameters : public FlatTensors<T> {
  public:
    explicit Parameters(const ModelLibrary &lib)
        : FlatTensors<T>(lib, lib.plan().params), lib_(lib) {}
    // Over a caller's CPU memory (plan.params_size() elements), without a copy.
    Parameters(const ModelLibrary &lib, T *external)
        : FlatTensors<T>(lib, lib.plan().params, external), lib_(lib) {}
    void upload(const ParameterSet<T> &host);
    void download(ParameterSet<T> &host);
    FlatTensors<T> &constants();

  private:
    const ModelLibrary &lib_;
    std::unique_ptr<FlatTensors<T>> constants_;
};

// BatchNorm running statistics, double buffered: a training-mode forward step reads one copy
// and writes the other (a pipeline never writes what it reads), then they swap. Counters
// (num_batches_tracked) are counted here on the host.
template <typename T>
class Statistics {
  public:
    explicit Statistics(const ModelLibrary &lib);
    FlatTensors<T> &current() { return *copies_[current_]; }
    FlatTensors<T> &next() { return *copies_[1 - current_]; }
    // After every BatchNorm of a step wrote next(): next becomes current, counters count.
    void advance();
    bool empty() const { return counters_.empty(); }
    // num_batches_tracked, one per BatchNorm (plan.counters).
    const std::vector<int64_t> &counters() const { return counters_; }
    void set_counters(std::vector<int64_t> counters);
    void upload(const RunningStats<T> &host);
    void download(RunningStats<T> &host);

  private:
    std::unique_ptr<FlatTensors<T>> copies_[2];
    int current_ = 0;
    std::vector<int64_t> counters_;
};

// Binds a pipeline's arguments by its signature: data by name, then every parameter,
// gradient and statistic the signature declares from the given buffers.
template <typename T>
class Binder {
  public:
    Binder(const ModelLibrary &lib, const PipelineSignature &signature);
    Binder &data(const std::string &name, Tensor<T> &tensor);
    Binder &scalar(const std::string &name, double value);
    Binder &params(Parameters<T> &params);
    Binder &grads(Parameters<T> &grads);
    Binder &stats(Statistics<T> &stats);
    void run() { call_.run(); }
    const PipelineSignature &signature() const { return signature_; }

  private:
    const PipelineSignature &signature_;
    ModelLibrary::Call call_;
};

// A tensor for argument `a` of a batch, from the pool (plan geometry).
template <typename T>
Tensor<T> take(TensorPool<T> &pool, const ModelLibrary &lib, const TensorType &type, int batch);

}  // namespace fernn
