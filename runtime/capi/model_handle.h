// What a fernn_model of the C API is: a compiled model (SequenceModel over a ModelLibrary) with
// the state the C API keeps for it (parameters, BatchNorm statistics, the last forward kept for
// the backward, a bound parameter buffer). Element types meet here only as void*: the handle
// is SequenceModel<float> or <double> by the library's precision, checked once at open.
// Errors are exceptions (InputError, Unavailable, std::logic_error for calls out of order);
// runtime/capi/fernn_c.cpp turns them into status codes.
#pragma once

#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/model/model_library.h"

namespace fernn::capi {

// Something this build or machine does not have (the compiler, a CUDA device).
struct Unavailable : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// A call out of order (a backward with no forward kept for it).
struct InvalidState : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class Group { Parameters, Statistics, Counters, Constants, Derived };
constexpr int kGroupCount = 5;

struct TensorEntry {
    std::string name;
    std::vector<int64_t> shape;
    int64_t offset = 0, count = 0;
    double tolerance = 0;
};

// What a forward keeps for its backward (a Trace): the model's own, or one of several the
// caller made (fernn_pass) to keep more than one forward alive, e.g. one per autograd graph.
struct Pass {
    virtual ~Pass() = default;
    const void *owner = nullptr;  // the ModelHandle that made it
    // The forward it holds, kept for the backward: batch and lengths; batch 0: none.
    int64_t batch = 0, t_in = 0, t_out = 0;
    // Whether the backward can run on it: kept in training mode (BatchNorm's backward is
    // compiled for batch statistics; models without BatchNorm always are).
    bool differentiable = false;
};

struct ForwardRequest {
    const void *inputs = nullptr;
    std::vector<int64_t> input_shape;  // (B, T, C, H, W)
    int64_t output_frames = -1;        // -1: the spec's
    bool train = false, keep = false;
    void *outputs = nullptr;  // may be null
    int64_t output_count = 0;
};

class ModelHandle {
  public:
    static std::unique_ptr<ModelHandle> open(std::shared_ptr<ModelLibrary> library);
    virtual ~ModelHandle() = default;

    const ModelLibrary &library() const { return *lib_; }
    const Spec &spec() const { return lib_->spec(); }
    const ModelPlan &plan() const { return lib_->plan(); }
    int element_bytes() const { return lib_->is_float64() ? 8 : 4; }
    bool has_batchnorm() const { return !plan().buffers.empty(); }

    const std::vector<TensorEntry> &tensors(Group g) const { return tensors_.at(size_t(g)); }
    int64_t group_size(Group g) const { return sizes_.at(size_t(g)); }
    const std::string &describe() const { return describe_; }
    // (B, T_out, C, H, W) or (B, K).
    std::vector<int64_t> output_shape(int64_t batch, int64_t output_frames) const;
    // (B, T_in, |V|, C_layer, H, W) of the forward the pass kept (null: the model's own).
    std::vector<int64_t> hidden_shape(int layer, const Pass *pass) const;

    // A pass of this model; forget() it before it is destroyed.
    virtual std::unique_ptr<Pass> create_pass() = 0;
    void forget(Pass *pass) { passes_.erase(pass); }

    void set_threads(int threads);
    virtual void use_device(const std::string &device) = 0;

    virtual void init(uint64_t seed) = 0;
    virtual void read(Group g, void *data, int64_t count) = 0;
    virtual void write(Group g, const void *data, int64_t count) = 0;
    virtual void bind_parameters(void *data, int64_t count) = 0;
    virtual void load(const std::string &path) = 0;
    virtual void save(const std::string &path) = 0;

    // pass: where the forward is kept and the backward reads it (null: the model's own).
    virtual void forward(const ForwardRequest &r, Pass *pass) = 0;
    virtual void backward(const void *output_gradient, int64_t output_count, void *gradients,
                          int64_t gradient_count, Pass *pass) = 0;
    virtual void hidden_states(int layer, void *states, int64_t count, Pass *pass) = 0;

  protected:
    explicit ModelHandle(std::shared_ptr<ModelLibrary> library);
    // Throws InputError unless count is what a group of `expected` elements needs.
    static void check_count(const char *what, int64_t count, int64_t expected);

    std::shared_ptr<ModelLibrary> lib_;
    std::vector<std::vector<TensorEntry>> tensors_;
    std::vector<int64_t> sizes_;
    std::string describe_;
    // Passes made by create_pass and not yet forgotten: use_device empties them.
    std::set<Pass *> passes_;
    // Throws unless the pass (null: none given) was made by this model; the own pass else.
    const Pass &kept(const Pass *pass) const;
    virtual const Pass &own_pass() const = 0;
};

}  // namespace fernn::capi
