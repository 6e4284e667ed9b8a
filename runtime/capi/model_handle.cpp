#include "runtime/capi/model_handle.h"

#include <cstring>

#include "runtime/model/checkpoint.h"
#include "runtime/model/cuda_probe.h"
#include "runtime/model/sequence_model.h"
#include "runtime/spec/limits.h"

namespace fernn::capi {

namespace {

template <typename Info>
std::vector<TensorEntry> entries(const std::vector<Info> &infos) {
    std::vector<TensorEntry> out;
    for (const auto &i : infos) out.push_back({i.name, i.shape, i.offset, i.numel(), 0});
    return out;
}

json entries_json(const std::vector<TensorEntry> &es) {
    json a = json::array();
    for (const auto &e : es) {
        json j{{"name", e.name}, {"shape", e.shape}, {"offset", e.offset}, {"count", e.count}};
        if (e.tolerance > 0) j["tolerance"] = e.tolerance;
        a.push_back(std::move(j));
    }
    return a;
}

int64_t product(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

}  // namespace

ModelHandle::ModelHandle(std::shared_ptr<ModelLibrary> library) : lib_(std::move(library)) {
    const ModelPlan &p = plan();
    tensors_.resize(kGroupCount);
    tensors_[size_t(Group::Parameters)] = entries(p.params);
    tensors_[size_t(Group::Statistics)] = entries(p.buffers);
    for (size_t i = 0; i < p.counters.size(); ++i)
        tensors_[size_t(Group::Counters)].push_back({p.counters[i], {}, int64_t(i), 1, 0});
    for (const auto &c : p.constants)
        tensors_[size_t(Group::Constants)].push_back(
            {c.name, c.shape, c.offset, c.numel(), c.tolerance});
    int64_t offset = 0;
    for (const auto &d : p.derived) {
        const int64_t n = product(d.shape);
        tensors_[size_t(Group::Derived)].push_back({d.name, d.shape, offset, n, 0});
        offset += n;
    }
    sizes_ = {p.params_size(), p.buffers_size(), int64_t(p.counters.size()), p.constants_size(),
              offset};

    const Spec &s = spec();
    const json &m = lib_->manifest();
    json d{
        {"api_version", 1},
        {"name", s.name},
        {"model_dir", lib_->dir()},
        {"precision", lib_->is_float64() ? "float64" : "float32"},
        {"readout", s.readout.kind},
        {"input",
         {{"channels", s.input.channels}, {"height", s.input.height}, {"width", s.input.width}}},
        {"sequence",
         {{"input_frames", s.sequence.input_frames}, {"output_frames", s.sequence.output_frames}}},
        {"copies", s.copies()},
        {"velocities", m.value("velocities", json::array())},
        {"velocity_labels", s.flow.labels()},
        {"layouts", m.value("layouts", json::object())},
        {"devices", lib_->devices()},
        {"spec", s.normalized()}};
    if (s.readout.kind == "classes") d["classes"] = s.readout.classes.classes;
    json layers = json::array();
    for (const auto &l : s.recurrence.layers) layers.push_back({{"channels", l.channels}});
    d["layers"] = layers;
    const char *names[kGroupCount] = {"parameters", "statistics", "counters", "constants",
                                      "derived"};
    for (int g = 0; g < kGroupCount; ++g) {
        d[names[g]] = entries_json(tensors_[size_t(g)]);
        d[std::string(names[g]) + "_size"] = sizes_[size_t(g)];
    }
    describe_ = d.dump();
}

void ModelHandle::check_count(const char *what, int64_t count, int64_t expected) {
    if (count != expected) {
        throw InputError(std::string(what) + ": count is " + std::to_string(count) +
                         " elements; allowed: " + std::to_string(expected));
    }
}

std::vector<int64_t> ModelHandle::output_shape(int64_t batch, int64_t output_frames) const {
    const Spec &s = spec();
    if (batch < 1 || batch > kMaxBatch)
        throw InputError("batch " + std::to_string(batch) + "; allowed: 1.." +
                         std::to_string(kMaxBatch));
    if (output_frames < 0) output_frames = s.sequence.output_frames;
    if (s.readout.kind != "classes" && output_frames > kMaxFrames) {
        throw InputError("output frames " + std::to_string(output_frames) + "; allowed: 0.." +
                         std::to_string(kMaxFrames) + " (-1: the spec's)");
    }
    return fernn::output_shape(s, batch, output_frames);
}

const Pass &ModelHandle::kept(const Pass *pass) const {
    if (pass && pass->owner != this) throw InputError("the pass belongs to another model");
    const Pass &p = pass ? *pass : own_pass();
    if (p.batch == 0) {
        throw InvalidState(std::string("no forward was kept in ") +
                           (pass ? "this pass" : "the model") +
                           " (run fernn_forward with FERNN_KEEP first)");
    }
    return p;
}

std::vector<int64_t> ModelHandle::hidden_shape(int layer, const Pass *pass) const {
    const Spec &s = spec();
    if (layer < 0 || layer >= s.layers()) {
        throw InputError("layer " + std::to_string(layer) + "; allowed: 0.." +
                         std::to_string(s.layers() - 1));
    }
    const Pass &p = kept(pass);
    return {p.batch,        p.t_in,       s.copies(), s.recurrence.layers[size_t(layer)].channels,
            s.input.height, s.input.width};
}

void ModelHandle::set_threads(int threads) {
    if (threads < 0 || threads > 4096)
        throw InputError("threads " + std::to_string(threads) +
                         "; allowed: 0..4096 (0: one per core)");
    lib_->set_threads(threads);
}

namespace {

template <typename T>
struct TracePass : Pass {
    Trace<T> trace;
};

template <typename T>
class Handle final : public ModelHandle {
  public:
    explicit Handle(std::shared_ptr<ModelLibrary> library)
        : ModelHandle(std::move(library)), model_(lib_) {
        own_.owner = this;
        allocate();
        init(0);
    }

    void use_device(const std::string &device) override {
        if (device != "cpu" && device != "cuda")
            throw InputError("device \"" + device + "\"; allowed: \"cpu\", \"cuda\"");
        if (device == lib_->device()) return;
        const auto devices = lib_->devices();
        if (std::find(devices.begin(), devices.end(), device) == devices.end()) {
            throw Unavailable("the model was compiled without a " + device +
                              " target (compile with target \"host,cuda\")");
        }
        if (device == "cuda") {
            const std::string why = cuda_unavailable_reason();
            if (!why.empty()) throw Unavailable("no CUDA device: " + why);
        }
        ModelWeights<T> w = weights();
        unbind();
        // Their pooled tensors live on the old device.
        own_.trace = Trace<T>();
        own_.batch = 0;
        for (Pass *p : passes_) {
            auto &t = *static_cast<TracePass<T> *>(p);
            t.trace = Trace<T>();
            t.batch = 0;
        }
        params_.reset();
        stats_.reset();
        grads_.reset();
        lib_->use_device(device);
        allocate();
        set_weights(w);
    }

    void init(uint64_t seed) override { set_weights(init_weights<T>(plan(), seed)); }

    void read(Group g, void *data, int64_t count) override {
        check_count("read", count, group_size(g));
        if (count == 0) return;
        if (!data) throw InputError("read: data is NULL");
        switch (g) {
            case Group::Parameters:
                active().flat().download(static_cast<T *>(data));
                return;
            case Group::Statistics:
                stats_->current().download(static_cast<T *>(data));
                return;
            case Group::Counters:
                std::memcpy(data, stats_->counters().data(), size_t(count) * sizeof(int64_t));
                return;
            case Group::Constants: {
                const std::vector<T> values = constant_values<T>(plan());
                std::memcpy(data, values.data(), size_t(count) * sizeof(T));
                return;
            }
            case Group::Derived: {
                ParameterSet<T> params = ParameterSet<T>::zeros(plan());
                active().download(params);
                T *out = static_cast<T *>(data);
                const auto &es = tensors(Group::Derived);
                for (size_t i = 0; i < es.size(); ++i) {
                    const Array<T> a = expand_derived(plan(), plan().derived[i], params);
                    std::copy(a.data.begin(), a.data.end(), out + es[i].offset);
                }
                return;
            }
        }
    }

    void write(Group g, const void *data, int64_t count) override {
        if (g == Group::Constants || g == Group::Derived) {
            throw InputError(std::string(g == Group::Constants ? "constants" : "derived tensors") +
                             " are read only; allowed groups: parameters, statistics, counters");
        }
        check_count("write", count, group_size(g));
        if (count == 0) return;
        if (!data) throw InputError("write: data is NULL");
        switch (g) {
            case Group::Parameters:
                active().flat().upload(static_cast<const T *>(data));
                return;
            case Group::Statistics:
                stats_->current().upload(static_cast<const T *>(data));
                return;
            case Group::Counters: {
                const auto *c = static_cast<const int64_t *>(data);
                for (int64_t i = 0; i < count; ++i) {
                    if (c[i] < 0) {
                        throw InputError("counter " + tensors(g)[size_t(i)].name + " is " +
                                         std::to_string(c[i]) + "; allowed: >= 0");
                    }
                }
                stats_->set_counters(std::vector<int64_t>(c, c + count));
                return;
            }
            default:
                return;
        }
    }

    void bind_parameters(void *data, int64_t count) override {
        if (!data) {
            if (count != 0) throw InputError("bind_parameters: data is NULL but count is not 0");
            unbind();
            return;
        }
        if (lib_->device() != "cpu") {
            throw InputError("bind_parameters: the model runs on " + lib_->device() +
                             "; parameters are bound on the CPU only (use fernn_write)");
        }
        check_count("bind_parameters", count, group_size(Group::Parameters));
        bound_ = std::make_unique<Parameters<T>>(*lib_, static_cast<T *>(data));
    }

    void load(const std::string &path) override {
        set_weights(load_checkpoint<T>(path, plan(), spec().name));
    }

    void save(const std::string &path) override {
        save_checkpoint(path, plan(), weights(), {{"fernn.model_hash", spec().model_hash()}},
                        sizeof(T) == 8 ? "F64" : "F32");
    }

    std::unique_ptr<Pass> create_pass() override {
        auto p = std::make_unique<TracePass<T>>();
        p->owner = this;
        passes_.insert(p.get());
        return p;
    }

    void forward(const ForwardRequest &r, Pass *pass) override {
        TracePass<T> &p = pass_of(pass);
        if (!r.inputs) throw InputError("forward: inputs is NULL");
        const std::vector<int64_t> out_shape =
            output_shape(r.input_shape.size() == 5 ? std::max<int64_t>(r.input_shape[0], 1) : 1,
                         r.output_frames);
        if (r.outputs) check_count("forward: outputs", r.output_count, product(out_shape));
        Options<T> o;
        // Without BatchNorm the modes compute the same; training pipelines keep what the
        // backward reads.
        o.mode = r.train || (r.keep && !has_batchnorm()) ? Mode::Train : Mode::Eval;
        o.keep_all = r.keep;
        o.t_out = spec().readout.kind == "classes" ? 0 : int(out_shape[1]);
        p.batch = 0;
        model_.forward(active(), stats_.get(),
                       ArrayView<T>(static_cast<const T *>(r.inputs), r.input_shape), o, p.trace);
        if (r.keep) {
            p.batch = p.trace.batch;
            p.t_in = p.trace.t_in;
            p.t_out = p.trace.t_out;
            p.differentiable = o.mode == Mode::Train;
        }
        if (r.outputs) model_.outputs(p.trace, static_cast<T *>(r.outputs));
    }

    void backward(const void *output_gradient, int64_t output_count, void *gradients,
                  int64_t gradient_count, Pass *pass) override {
        TracePass<T> &p = pass_of(pass);
        if (!kept(pass).differentiable) {
            throw InvalidState(
                "backward: the forward ran BatchNorm in evaluation mode (FERNN_KEEP without "
                "FERNN_TRAIN); the compiled backward differentiates BatchNorm with batch "
                "statistics: run the forward with FERNN_TRAIN | FERNN_KEEP");
        }
        if (!output_gradient) throw InputError("backward: output_gradient is NULL");
        if (!gradients) throw InputError("backward: gradients is NULL");
        const std::vector<int64_t> shape = model_.output_shape(p.trace);
        check_count("backward: output_gradient", output_count, product(shape));
        check_count("backward: gradients", gradient_count, group_size(Group::Parameters));
        const ArrayView<T> d_out(static_cast<const T *>(output_gradient), shape);
        if (lib_->device() == "cpu") {
            // Written in place, into the caller's memory.
            Parameters<T> grads(*lib_, static_cast<T *>(gradients));
            model_.backward(active(), d_out, p.trace, grads);
            return;
        }
        if (!grads_) grads_ = std::make_unique<Parameters<T>>(*lib_);
        model_.backward(active(), d_out, p.trace, *grads_);
        grads_->flat().download(static_cast<T *>(gradients));
    }

    void hidden_states(int layer, void *states, int64_t count, Pass *pass) override {
        const std::vector<int64_t> shape = hidden_shape(layer, pass);
        check_count("hidden_states", count, product(shape));
        if (!states) throw InputError("hidden_states: states is NULL");
        TracePass<T> &p = pass_of(pass);
        const Array<T> h = model_.hidden_states(p.trace, layer, 0, int(p.t_in));
        std::memcpy(states, h.data.data(), size_t(count) * sizeof(T));
    }

  private:
    void allocate() {
        params_ = std::make_unique<Parameters<T>>(*lib_);
        stats_ = std::make_unique<Statistics<T>>(*lib_);
    }
    Parameters<T> &active() { return bound_ ? *bound_ : *params_; }
    const Pass &own_pass() const override { return own_; }
    TracePass<T> &pass_of(Pass *pass) {
        if (pass && pass->owner != this) throw InputError("the pass belongs to another model");
        return pass ? *static_cast<TracePass<T> *>(pass) : own_;
    }
    // Copies bound parameters back into the model's own memory and forgets the binding.
    void unbind() {
        if (!bound_) return;
        AlignedVector<T> values(size_t(group_size(Group::Parameters)));
        bound_->flat().download(values.data());
        bound_.reset();
        params_->flat().upload(values.data());
    }
    ModelWeights<T> weights() {
        ModelWeights<T> w{ParameterSet<T>::zeros(plan()), RunningStats<T>::initial(plan())};
        active().download(w.params);
        stats_->download(w.stats);
        return w;
    }
    void set_weights(const ModelWeights<T> &w) {
        active().upload(w.params);
        stats_->upload(w.stats);
    }

    SequenceModel<T> model_;
    std::unique_ptr<Parameters<T>> params_, bound_, grads_;
    std::unique_ptr<Statistics<T>> stats_;
    TracePass<T> own_;
};

}  // namespace

std::unique_ptr<ModelHandle> ModelHandle::open(std::shared_ptr<ModelLibrary> library) {
    if (library->is_float64()) return std::make_unique<Handle<double>>(std::move(library));
    return std::make_unique<Handle<float>>(std::move(library));
}

}  // namespace fernn::capi
