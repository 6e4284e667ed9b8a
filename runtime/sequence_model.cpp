#include "sequence_model.h"

#include <stdexcept>

namespace fernn {

namespace {

template <typename T>
halide_type_t halide_type() {
    return halide_type_t(halide_type_float, 8 * sizeof(T));
}

}  // namespace

template <typename T>
SequenceModel<T>::SequenceModel(std::shared_ptr<const ModelLibrary> library)
    : lib_(std::move(library)) {
    if (lib_->is_float64() != (sizeof(T) == 8)) {
        throw InputError(lib_->dir() + ": the model was compiled for " +
                         (lib_->is_float64() ? "float64" : "float32") + " but is run as " +
                         (sizeof(T) == 8 ? "float64" : "float32"));
    }
}

template <typename T>
size_t SequenceModel<T>::frame_size(int channels) const {
    return size_t(channels) * spec().width * spec().height;
}

template <typename T>
size_t SequenceModel<T>::state_size() const {
    return size_t(spec().hidden) * spec().width * spec().height * spec().num_velocities();
}

template <typename T>
void SequenceModel<T>::check_sequence(const Array<T> &a, const char *what, int frames) const {
    const Spec &s = spec();
    // frames < 0: any number of frames >= 1.
    const bool ok = a.shape.size() == 5 && a.shape[0] >= 1 &&
                    (frames < 0 ? a.shape[1] >= 1 : a.shape[1] == frames) &&
                    a.shape[2] == s.in_channels && a.shape[3] == s.height && a.shape[4] == s.width;
    if (!ok) {
        throw InputError(std::string(what) + " has shape " + shape_text(a.shape) + "; spec " +
                         s.name + " needs (B, " +
                         (frames >= 0 ? std::to_string(frames) : std::string("T >= 1")) + ", " +
                         std::to_string(s.in_channels) + ", " + std::to_string(s.height) + ", " +
                         std::to_string(s.width) + ") with B >= 1");
    }
}

template <typename T>
AlignedVector<T> SequenceModel<T>::frame_at(const Array<T> &seq, int t) const {
    const Spec &s = spec();
    const int64_t B = seq.shape[0], Tn = seq.shape[1], C = s.in_channels, H = s.height, W = s.width;
    AlignedVector<T> out(B * C * H * W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    out[((b * H + y) * W + x) * C + c] =
                        seq.data[(((b * Tn + t) * C + c) * H + y) * W + x];
    return out;
}

namespace {

// Halide views of parameter tensors (OIHW, i.e. extents kx, ky, ci, co) and the pipeline
// argument names they bind to ("cell.conv_u.weight" -> "cell_conv_u_weight").
template <typename T>
class WeightViews {
  public:
    explicit WeightViews(const ParameterSet<T> &p) {
        for (size_t i = 0; i < p.infos.size(); ++i) {
            const auto &s = p.infos[i].shape;
            views_.push_back(std::make_unique<BufferView>(
                const_cast<T *>(p.tensor(i)), halide_type<T>(),
                std::vector<int>{int(s[3]), int(s[2]), int(s[1]), int(s[0])}));
            std::string name = p.infos[i].name;
            for (char &ch : name) ch = ch == '.' ? '_' : ch;
            names_.push_back(name);
        }
    }
    // Binds tensors [first, last) as prefix + name.
    void bind(ModelLibrary::Call &call, size_t first, size_t last,
              const std::string &prefix = "") const {
        for (size_t i = first; i < last; ++i) call.bind(prefix + names_[i], *views_[i]);
    }
    size_t size() const { return views_.size(); }

  private:
    std::vector<std::unique_ptr<BufferView>> views_;
    std::vector<std::string> names_;
};

// Adds the per-step gradients of tensors [first, last) into the running sums.
template <typename T>
void accumulate(ParameterSet<T> &sum, const ParameterSet<T> &step, size_t first, size_t last) {
    for (size_t i = first; i < last; ++i) {
        T *g = sum.tensor(i);
        const T *d = step.tensor(i);
        for (int64_t k = 0; k < sum.infos[i].numel(); ++k) g[k] += d[k];
    }
}

}  // namespace

template <typename T>
typename SequenceModel<T>::Extents SequenceModel<T>::extents(int batch) const {
    const Spec &s = spec();
    return Extents{{s.in_channels, s.width, s.height, batch},
                   {s.hidden, s.width, s.height, batch},
                   {s.hidden, s.width, s.height, s.num_velocities(), batch}};
}

template <typename T>
BufferView *SequenceModel<T>::view(const AlignedVector<T> &data, const std::vector<int> &extents,
                                   std::vector<std::unique_ptr<BufferView>> &keep) const {
    keep.push_back(
        std::make_unique<BufferView>(const_cast<T *>(data.data()), halide_type<T>(), extents));
    return keep.back().get();
}

template <typename T>
void SequenceModel<T>::forward(const ParameterSet<T> &params, const Array<T> &inputs, int t_out,
                               bool keep_all, Trace &tr, const Array<T> *decoder_inputs) const {
    const Spec &s = spec();
    check_sequence(inputs, "input", -1);
    if (t_out < 0) throw InputError("the number of predicted frames must be >= 0");
    if (decoder_inputs) {
        check_sequence(*decoder_inputs, "decoder input", t_out);
        if (decoder_inputs->shape[0] != inputs.shape[0]) {
            throw InputError("decoder input batch differs from input");
        }
    }
    tr = Trace{};
    tr.batch = static_cast<int>(inputs.shape[0]);
    tr.t_in = static_cast<int>(inputs.shape[1]);
    tr.t_out = t_out;
    tr.all_states = keep_all;
    const Extents ext = extents(tr.batch);
    const WeightViews<T> weights(params);

    tr.states.push_back(AlignedVector<T>(state_size() * tr.batch, T(0)));
    bool first = true;  // the first step starts from the zero state: no h_prev to read
    auto step = [&](AlignedVector<T> frame) {
        AlignedVector<T> next(tr.states.back().size());
        std::vector<std::unique_ptr<BufferView>> v;
        auto call = lib_->call(first ? "cell_forward_first" : "cell_forward");
        call.bind("u", *view(frame, ext.frame, v)).bind("h_next", *view(next, ext.hidden, v));
        if (!first) call.bind("h_prev", *view(tr.states.back(), ext.hidden, v));
        first = false;
        weights.bind(call, 0, 2);
        call.run();
        if (!keep_all) {
            tr.frames.clear();
            tr.states.clear();
        }
        tr.frames.push_back(std::move(frame));
        tr.states.push_back(std::move(next));
    };
    for (int t = 0; t < tr.t_in; ++t) step(frame_at(inputs, t));

    AlignedVector<T> fed = tr.frames.back();  // the last observed frame, fed a second time
    for (int k = 0; k < t_out; ++k) {
        step(decoder_inputs ? frame_at(*decoder_inputs, k) : fed);
        AlignedVector<T> pred(frame_size(s.out_channels) * tr.batch);
        AlignedVector<T> feat(frame_size(s.hidden) * tr.batch);
        std::vector<AlignedVector<T>> acts(s.dec_layers, feat);
        std::vector<std::unique_ptr<BufferView>> v;
        auto call = lib_->call("readout_forward");
        call.bind("h", *view(tr.states.back(), ext.hidden, v))
            .bind("pred", *view(pred, ext.frame, v))
            .bind("feat", *view(feat, ext.feat, v));
        for (int i = 0; i < s.dec_layers; ++i) {
            call.bind("act_" + std::to_string(i), *view(acts[i], ext.feat, v));
        }
        weights.bind(call, 2, weights.size());
        call.run();
        fed = pred;  // fed back detached: backward never flows into it
        tr.preds.push_back(std::move(pred));
        if (keep_all) {
            tr.feats.push_back(std::move(feat));
            tr.acts.push_back(std::move(acts));
        }
    }
}

template <typename T>
double SequenceModel<T>::loss(const Trace &tr, const Array<T> &targets) const {
    check_sequence(targets, "target", tr.t_out);
    if (targets.shape[0] != tr.batch) {
        throw InputError("target has batch " + std::to_string(targets.shape[0]) +
                         " but input has " + std::to_string(tr.batch));
    }
    const Extents ext = extents(tr.batch);
    double total = 0;
    for (int k = 0; k < tr.t_out; ++k) {
        const AlignedVector<T> target = frame_at(targets, k);
        AlignedVector<T> sse(1);
        std::vector<std::unique_ptr<BufferView>> v;
        lib_->call("frame_loss")
            .bind("pred", *view(tr.preds[k], ext.frame, v))
            .bind("target", *view(target, ext.frame, v))
            .bind("sse", *view(sse, {}, v))
            .run();
        total += double(sse[0]);
    }
    return total / (double(tr.batch) * tr.t_out * frame_size(spec().out_channels));
}

template <typename T>
double SequenceModel<T>::backward(const ParameterSet<T> &params, const Array<T> &targets,
                                  const Trace &tr, ParameterSet<T> &grads) const {
    if (!tr.all_states) throw std::logic_error("backward needs a forward trace made with keep_all");
    const Spec &s = spec();
    const double loss_value = loss(tr, targets);
    const Extents ext = extents(tr.batch);
    // d loss / d pred for the mean over all predicted elements.
    const double scale = 2.0 / (double(tr.batch) * tr.t_out * frame_size(s.out_channels));

    grads = ParameterSet<T>::zeros(s);
    ParameterSet<T> step_grads = ParameterSet<T>::zeros(s);
    const WeightViews<T> weights(params), step_views(step_grads);
    const size_t n = weights.size();

    // carry: dL/dh flowing back from later steps; total: carry plus the readout's share.
    AlignedVector<T> carry(state_size() * tr.batch, T(0)), total(carry.size());
    auto cell_back = [&](int step, const AlignedVector<T> &d_next, AlignedVector<T> &d_prev) {
        std::vector<std::unique_ptr<BufferView>> v;
        // Step 0 started from the zero state: its pipeline has no h_prev and no d_h_prev.
        auto call = lib_->call(step == 0 ? "cell_backward_first" : "cell_backward");
        call.bind("u", *view(tr.frames[step], ext.frame, v))
            .bind("h_next", *view(tr.states[step + 1], ext.hidden, v))
            .bind("d_h_next", *view(d_next, ext.hidden, v));
        if (step > 0) {
            call.bind("h_prev", *view(tr.states[step], ext.hidden, v))
                .bind("d_h_prev", *view(d_prev, ext.hidden, v));
        }
        weights.bind(call, 0, 2);
        step_views.bind(call, 0, 2, "grad_");
        call.run();
        accumulate(grads, step_grads, 0, 2);
    };

    for (int k = tr.t_out - 1; k >= 0; --k) {
        const int step = tr.t_in + k;  // the cell step whose output the readout saw
        const AlignedVector<T> target = frame_at(targets, k);
        std::vector<std::unique_ptr<BufferView>> v;
        auto call = lib_->call("readout_backward");
        call.bind("h", *view(tr.states[step + 1], ext.hidden, v))
            .bind("feat", *view(tr.feats[k], ext.feat, v))
            .bind("pred", *view(tr.preds[k], ext.frame, v))
            .bind("target", *view(target, ext.frame, v))
            .bind("d_h_carry", *view(carry, ext.hidden, v))
            .bind("d_h", *view(total, ext.hidden, v))
            .scalar("grad_scale", scale);
        for (int i = 0; i < s.dec_layers; ++i) {
            call.bind("act_" + std::to_string(i), *view(tr.acts[k][i], ext.feat, v));
        }
        weights.bind(call, 2, n);
        step_views.bind(call, 2, n, "grad_");
        call.run();
        accumulate(grads, step_grads, 2, n);
        cell_back(step, total, carry);
    }
    for (int step = tr.t_in - 1; step >= 0; --step) {
        cell_back(step, carry, total);
        std::swap(carry, total);
    }
    return loss_value;
}

template <typename T>
Array<T> SequenceModel<T>::predictions(const Trace &tr) const {
    const Spec &s = spec();
    const int64_t B = tr.batch, Tn = tr.t_out, C = s.out_channels, H = s.height, W = s.width;
    Array<T> out({B, Tn, C, H, W});
    for (int64_t t = 0; t < Tn; ++t)
        for (int64_t b = 0; b < B; ++b)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    for (int64_t c = 0; c < C; ++c)
                        out.data[(((b * Tn + t) * C + c) * H + y) * W + x] =
                            tr.preds[t][((b * H + y) * W + x) * C + c];
    return out;
}

template <typename T>
Array<T> SequenceModel<T>::hidden_states(const Trace &tr, int first, int count) const {
    const Spec &s = spec();
    if (!tr.all_states || first < 0 || first + count + 1 > static_cast<int>(tr.states.size())) {
        throw std::logic_error("hidden_states: trace does not hold those steps");
    }
    const int64_t B = tr.batch, V = s.num_velocities(), C = s.hidden, H = s.height, W = s.width;
    Array<T> out({B, count, V, C, H, W});
    for (int64_t t = 0; t < count; ++t) {
        const AlignedVector<T> &h = tr.states[first + t + 1];
        for (int64_t b = 0; b < B; ++b)
            for (int64_t v = 0; v < V; ++v)
                for (int64_t y = 0; y < H; ++y)
                    for (int64_t x = 0; x < W; ++x)
                        for (int64_t c = 0; c < C; ++c)
                            out.data[(((((b * count + t) * V + v) * C + c) * H + y) * W) + x] =
                                h[(((b * V + v) * H + y) * W + x) * C + c];
    }
    return out;
}

template class SequenceModel<float>;
template class SequenceModel<double>;

}  // namespace fernn
