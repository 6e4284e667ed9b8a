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
SequenceModel<T>::SequenceModel(std::shared_ptr<const ModelLibrary> library) : lib_(std::move(library)) {
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
                    (frames < 0 ? a.shape[1] >= 1 : a.shape[1] == frames) && a.shape[2] == s.in_channels &&
                    a.shape[3] == s.height && a.shape[4] == s.width;
    if (!ok) {
        throw InputError(std::string(what) + " has shape " + shape_text(a.shape) + "; spec " + s.name +
                         " needs (B, " + (frames >= 0 ? std::to_string(frames) : std::string("T >= 1")) + ", " +
                         std::to_string(s.in_channels) + ", " + std::to_string(s.height) + ", " +
                         std::to_string(s.width) + ") with B >= 1");
    }
}

template <typename T>
std::vector<T> SequenceModel<T>::frame_at(const Array<T> &seq, int t) const {
    const Spec &s = spec();
    const int64_t B = seq.shape[0], Tn = seq.shape[1], C = s.in_channels, H = s.height, W = s.width;
    std::vector<T> out(B * C * H * W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    out[((b * H + y) * W + x) * C + c] = seq.data[(((b * Tn + t) * C + c) * H + y) * W + x];
    return out;
}

template <typename T>
void SequenceModel<T>::forward(const ParameterSet<T> &params, const Array<T> &inputs, int t_out,
                               bool keep_all, Trace &tr, const Array<T> *decoder_inputs) const {
    const Spec &s = spec();
    check_sequence(inputs, "input", -1);
    if (decoder_inputs) {
        check_sequence(*decoder_inputs, "decoder input", t_out);
        if (decoder_inputs->shape[0] != inputs.shape[0]) throw InputError("decoder input batch differs from input");
    }
    if (t_out < 0) throw InputError("the number of predicted frames must be >= 0");
    tr = Trace{};
    tr.batch = static_cast<int>(inputs.shape[0]);
    tr.t_in = static_cast<int>(inputs.shape[1]);
    tr.t_out = t_out;
    tr.all_states = keep_all;
    const int B = tr.batch;
    const size_t sstate = state_size() * B;
    const size_t sframe = frame_size(s.in_channels) * B;
    const size_t sfeat = frame_size(s.hidden) * B;
    const halide_type_t ht = halide_type<T>();
    const std::vector<int> hidden_extents{s.hidden, s.width, s.height, s.num_velocities(), B};
    const std::vector<int> frame_extents{s.in_channels, s.width, s.height, B};
    const std::vector<int> feat_extents{s.hidden, s.width, s.height, B};

    std::vector<std::unique_ptr<BufferView>> weights;
    for (size_t i = 0; i < params.infos.size(); ++i) {
        const auto &shp = params.infos[i].shape;
        weights.push_back(std::make_unique<BufferView>(const_cast<T *>(params.tensor(i)), ht,
                                                       std::vector<int>{int(shp[3]), int(shp[2]), int(shp[1]), int(shp[0])}));
    }
    auto bind_weights = [&](ModelLibrary::Call &call, size_t first, size_t last) {
        for (size_t i = first; i < last; ++i) {
            std::string name = params.infos[i].name;
            for (char &c : name) c = c == '.' ? '_' : c;
            call.bind(name, *weights[i]);
        }
    };

    tr.states.push_back(std::vector<T>(sstate, T(0)));
    auto step = [&](std::vector<T> frame) {
        std::vector<T> next(sstate);
        BufferView u(frame.data(), ht, frame_extents), hp(tr.states.back().data(), ht, hidden_extents),
            hn(next.data(), ht, hidden_extents);
        auto call = lib_->call("cell_forward");
        call.bind("u", u).bind("h_prev", hp).bind("h_next", hn);
        bind_weights(call, 0, 2);
        call.run();
        if (!keep_all) {
            tr.frames.clear();
            tr.states.clear();
        }
        tr.frames.push_back(std::move(frame));
        tr.states.push_back(std::move(next));
    };
    for (int t = 0; t < tr.t_in; ++t) step(frame_at(inputs, t));

    std::vector<T> fed = tr.frames.back();  // the last observed frame, fed a second time
    for (int k = 0; k < t_out; ++k) {
        step(decoder_inputs ? frame_at(*decoder_inputs, k) : fed);
        std::vector<T> pred(sframe), feat(sfeat);
        std::vector<std::vector<T>> acts(s.dec_layers, std::vector<T>(sfeat));
        BufferView h(tr.states.back().data(), ht, hidden_extents), pv(pred.data(), ht, frame_extents),
            fv(feat.data(), ht, feat_extents);
        std::vector<std::unique_ptr<BufferView>> av;
        auto call = lib_->call("readout_forward");
        call.bind("h", h).bind("pred", pv).bind("feat", fv);
        for (int i = 0; i < s.dec_layers; ++i) {
            av.push_back(std::make_unique<BufferView>(acts[i].data(), ht, feat_extents));
            call.bind("act_" + std::to_string(i), *av.back());
        }
        bind_weights(call, 2, params.infos.size());
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
    const Spec &s = spec();
    check_sequence(targets, "target", tr.t_out);
    if (targets.shape[0] != tr.batch) {
        throw InputError("target has batch " + std::to_string(targets.shape[0]) + " but input has " +
                         std::to_string(tr.batch));
    }
    const halide_type_t ht = halide_type<T>();
    const std::vector<int> frame_extents{s.in_channels, s.width, s.height, tr.batch};
    double total = 0;
    for (int k = 0; k < tr.t_out; ++k) {
        std::vector<T> target = frame_at(targets, k);
        T sse = 0;
        BufferView pv(const_cast<T *>(tr.preds[k].data()), ht, frame_extents),
            tv(target.data(), ht, frame_extents), out(&sse, ht, {});
        lib_->call("frame_loss").bind("pred", pv).bind("target", tv).bind("sse", out).run();
        total += double(sse);
    }
    return total / (double(tr.batch) * tr.t_out * frame_size(s.in_channels));
}

template <typename T>
double SequenceModel<T>::backward(const ParameterSet<T> &params, const Array<T> &targets,
                                  const Trace &tr, ParameterSet<T> &grads) const {
    if (!tr.all_states) throw std::logic_error("backward needs a forward trace made with keep_all");
    const Spec &s = spec();
    const double loss_value = loss(tr, targets);
    const int B = tr.batch;
    const halide_type_t ht = halide_type<T>();
    const std::vector<int> hidden_extents{s.hidden, s.width, s.height, s.num_velocities(), B};
    const std::vector<int> frame_extents{s.in_channels, s.width, s.height, B};
    const std::vector<int> feat_extents{s.hidden, s.width, s.height, B};
    const double scale = 2.0 / (double(B) * tr.t_out * frame_size(s.in_channels));

    grads = ParameterSet<T>::zeros(s);
    ParameterSet<T> step_grads = ParameterSet<T>::zeros(s);
    std::vector<std::unique_ptr<BufferView>> weights, wgrads;
    std::vector<std::string> names;
    for (size_t i = 0; i < params.infos.size(); ++i) {
        const auto &shp = params.infos[i].shape;
        const std::vector<int> ext{int(shp[3]), int(shp[2]), int(shp[1]), int(shp[0])};
        weights.push_back(std::make_unique<BufferView>(const_cast<T *>(params.tensor(i)), ht, ext));
        wgrads.push_back(std::make_unique<BufferView>(step_grads.tensor(i), ht, ext));
        std::string name = params.infos[i].name;
        for (char &c : name) c = c == '.' ? '_' : c;
        names.push_back(name);
    }
    auto accumulate = [&](size_t first, size_t last) {
        for (size_t i = first; i < last; ++i) {
            const int64_t n = params.infos[i].numel();
            T *g = grads.tensor(i);
            const T *d = step_grads.tensor(i);
            for (int64_t k = 0; k < n; ++k) g[k] += d[k];
        }
    };

    // carry: dL/dh flowing back from later steps; total: carry plus the readout's share.
    std::vector<T> carry(state_size() * B, T(0)), total(state_size() * B);
    auto cell_back = [&](int step, std::vector<T> &d_next, std::vector<T> &d_prev) {
        BufferView u(const_cast<T *>(tr.frames[step].data()), ht, frame_extents),
            hp(const_cast<T *>(tr.states[step].data()), ht, hidden_extents),
            hn(const_cast<T *>(tr.states[step + 1].data()), ht, hidden_extents),
            dn(d_next.data(), ht, hidden_extents), dp(d_prev.data(), ht, hidden_extents);
        auto call = lib_->call("cell_backward");
        call.bind("u", u).bind("h_prev", hp).bind("h_next", hn).bind("d_h_next", dn).bind("d_h_prev", dp);
        for (size_t i = 0; i < 2; ++i) call.bind(names[i], *weights[i]).bind("grad_" + names[i], *wgrads[i]);
        call.run();
        accumulate(0, 2);
    };

    for (int k = tr.t_out - 1; k >= 0; --k) {
        const int step = tr.t_in + k;  // the cell step whose output the readout saw
        std::vector<T> target = frame_at(targets, k);
        BufferView h(const_cast<T *>(tr.states[step + 1].data()), ht, hidden_extents),
            fv(const_cast<T *>(tr.feats[k].data()), ht, feat_extents),
            pv(const_cast<T *>(tr.preds[k].data()), ht, frame_extents), tv(target.data(), ht, frame_extents),
            cv(carry.data(), ht, hidden_extents), dv(total.data(), ht, hidden_extents);
        std::vector<std::unique_ptr<BufferView>> av;
        auto call = lib_->call("readout_backward");
        call.bind("h", h).bind("feat", fv).bind("pred", pv).bind("target", tv).bind("d_h_carry", cv).bind("d_h", dv);
        call.scalar("grad_scale", scale);
        for (int i = 0; i < s.dec_layers; ++i) {
            av.push_back(std::make_unique<BufferView>(const_cast<T *>(tr.acts[k][i].data()), ht, feat_extents));
            call.bind("act_" + std::to_string(i), *av.back());
        }
        for (size_t i = 2; i < names.size(); ++i) call.bind(names[i], *weights[i]).bind("grad_" + names[i], *wgrads[i]);
        call.run();
        accumulate(2, names.size());
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
                        out.data[(((b * Tn + t) * C + c) * H + y) * W + x] = tr.preds[t][((b * H + y) * W + x) * C + c];
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
        const std::vector<T> &h = tr.states[first + t + 1];
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
