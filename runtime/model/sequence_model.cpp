#include "runtime/model/sequence_model.h"

#include <cmath>
#include <stdexcept>

namespace fernn {

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
SequenceModel<T>::Parameters::Parameters(const ModelLibrary &lib, const Spec &spec)
    : infos_(spec.parameters()) {
    size_t total = 0;
    for (const auto &p : infos_) total += size_t(p.numel());
    flat_ = Tensor<T>(lib, {int(total)});
    size_t at = 0;
    for (const auto &p : infos_) {
        const auto &s = p.shape;
        tensors_.push_back(flat_.view(at, {int(s[3]), int(s[2]), int(s[1]), int(s[0])}));
        flats_.push_back(flat_.view(at, {int(p.numel())}));
        at += size_t(p.numel());
        arguments_.push_back(argument_name(p.name));
    }
}

template <typename T>
void SequenceModel<T>::Parameters::upload(const ParameterSet<T> &host) {
    if (host.data.size() != flat_.size())
        throw std::logic_error("Parameters::upload: size mismatch");
    flat_.upload(host.data.data());
}

template <typename T>
void SequenceModel<T>::Parameters::download(ParameterSet<T> &host) {
    if (host.data.size() != flat_.size())
        throw std::logic_error("Parameters::download: size mismatch");
    flat_.download(host.data.data());
}

template <typename T>
size_t SequenceModel<T>::frame_size(int channels) const {
    return size_t(channels) * spec().width * spec().height;
}

template <typename T>
typename SequenceModel<T>::Extents SequenceModel<T>::extents(int batch) const {
    const Spec &s = spec();
    return Extents{{s.in_channels, s.width, s.height, batch},
                   {s.hidden, s.width, s.height, batch},
                   {s.hidden, s.width, s.height, s.num_velocities(), batch}};
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
Tensor<T> SequenceModel<T>::frame_at(const Array<T> &seq, int t, TensorPool<T> &pool) const {
    const Spec &s = spec();
    const int64_t B = seq.shape[0], Tn = seq.shape[1], C = s.in_channels, H = s.height, W = s.width;
    AlignedVector<T> host(B * C * H * W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    host[((b * H + y) * W + x) * C + c] =
                        seq.data[(((b * Tn + t) * C + c) * H + y) * W + x];
    Tensor<T> frame = pool.take(*lib_, extents(int(B)).frame);
    frame.upload(host.data());
    return frame;
}

template <typename T>
void SequenceModel<T>::frame_to(Tensor<T> &frame, Array<T> &out, int t) const {
    const Spec &s = spec();
    const int64_t B = out.shape[0], Tn = out.shape[1], C = s.out_channels, H = s.height,
                  W = s.width;
    frame.download_to_mirror();
    const T *src = frame.host();
    for (int64_t b = 0; b < B; ++b)
        for (int64_t y = 0; y < H; ++y)
            for (int64_t x = 0; x < W; ++x)
                for (int64_t c = 0; c < C; ++c)
                    out.data[(((b * Tn + t) * C + c) * H + y) * W + x] =
                        src[((b * H + y) * W + x) * C + c];
}

template <typename T>
void SequenceModel<T>::forward(Parameters &params, const Array<T> &inputs, int t_out, bool keep_all,
                               Trace &tr, const Array<T> *decoder_inputs) const {
    const Spec &s = spec();
    check_sequence(inputs, "input", -1);
    if (t_out < 0) throw InputError("the number of predicted frames must be >= 0");
    if (decoder_inputs) {
        check_sequence(*decoder_inputs, "decoder input", t_out);
        if (decoder_inputs->shape[0] != inputs.shape[0])
            throw InputError("decoder input batch differs from input");
    }
    tr.recycle();
    tr.batch = int(inputs.shape[0]);
    tr.t_in = int(inputs.shape[1]);
    tr.t_out = t_out;
    tr.all_states = keep_all;
    const Extents ext = extents(tr.batch);
    auto bind_weights = [&](ModelLibrary::Call &call, size_t first, size_t last) {
        for (size_t i = first; i < last; ++i)
            call.bind(params.argument(i), *params.tensor(i).buffer());
    };

    // The first step starts from the zero state: its pipeline reads no h_prev.
    auto step = [&](Tensor<T> frame) {
        Tensor<T> next = tr.pool.take(*lib_, ext.hidden);
        const bool first = tr.states.empty();
        auto call = lib_->call(first ? "cell_forward_first" : "cell_forward");
        call.bind("u", *frame.buffer()).bind("h_next", *next.buffer());
        if (!first) call.bind("h_prev", *tr.states.back().buffer());
        bind_weights(call, 0, 2);
        call.run();
        if (!keep_all) {
            tr.pool.give(tr.frames);
            tr.pool.give(tr.states);
        }
        tr.frames.push_back(std::move(frame));
        tr.states.push_back(std::move(next));
    };
    for (int t = 0; t < tr.t_in; ++t) step(frame_at(inputs, t, tr.pool));

    for (int k = 0; k < t_out; ++k) {
        if (decoder_inputs) {
            step(frame_at(*decoder_inputs, k, tr.pool));
        } else if (k == 0) {
            // The last observed frame is fed a second time: the same memory, read again.
            step(keep_all ? tr.frames.back().view(0, ext.frame) : std::move(tr.frames.back()));
        } else {
            // Each prediction is fed back as it is (a view of it; nothing flows back into it).
            step(tr.preds.back().view(0, ext.frame));
        }
        Tensor<T> pred = tr.pool.take(*lib_, ext.frame), feat = tr.pool.take(*lib_, ext.feat);
        std::vector<Tensor<T>> acts;
        auto call = lib_->call("readout_forward");
        call.bind("h", *tr.states.back().buffer())
            .bind("pred", *pred.buffer())
            .bind("feat", *feat.buffer());
        // All allocated before binding: a call keeps pointers to the buffers it was given.
        for (int i = 0; i < s.dec_layers; ++i) acts.push_back(tr.pool.take(*lib_, ext.feat));
        for (int i = 0; i < s.dec_layers; ++i)
            call.bind("act_" + std::to_string(i), *acts[i].buffer());
        bind_weights(call, 2, params.count());
        call.run();
        tr.preds.push_back(std::move(pred));
        if (keep_all) {
            tr.feats.push_back(std::move(feat));
            tr.acts.push_back(std::move(acts));
        } else {
            tr.pool.give(std::move(feat));
            tr.pool.give(acts);
        }
    }
}

template <typename T>
double SequenceModel<T>::loss(Trace &tr, const Array<T> &targets) const {
    check_sequence(targets, "target", tr.t_out);
    if (targets.shape[0] != tr.batch) {
        throw InputError("target has batch " + std::to_string(targets.shape[0]) +
                         " but input has " + std::to_string(tr.batch));
    }
    // Each frame's sum of squares goes into one device vector, read back once.
    tr.targets.clear();
    if (tr.t_out == 0) return NAN;
    Tensor<T> sums = tr.pool.take(*lib_, {tr.t_out});
    for (int k = 0; k < tr.t_out; ++k) {
        tr.targets.push_back(frame_at(targets, k, tr.pool));
        Tensor<T> sse = sums.view(size_t(k), {});
        lib_->call("frame_loss")
            .bind("pred", *tr.preds[k].buffer())
            .bind("target", *tr.targets.back().buffer())
            .bind("sse", *sse.buffer())
            .run();
    }
    std::vector<T> values(size_t(tr.t_out));
    sums.download(values.data());
    tr.pool.give(std::move(sums));
    double total = 0;
    for (T v : values) total += double(v);
    return total / (double(tr.batch) * tr.t_out * frame_size(spec().out_channels));
}

template <typename T>
double SequenceModel<T>::backward(Parameters &params, const Array<T> &targets, Trace &tr,
                                  Parameters &grads) const {
    if (!tr.all_states) throw std::logic_error("backward needs a forward trace made with keep_all");
    const Spec &s = spec();
    const double loss_value = loss(tr, targets);
    const Extents ext = extents(tr.batch);
    // d loss / d pred for the mean over all predicted elements.
    const double scale = 2.0 / (double(tr.batch) * tr.t_out * frame_size(s.out_channels));

    // Each pipeline writes its step's weight gradients into `step`; grad_accumulate adds them
    // to the running sum of each tensor, which alternates between grads and `spare` (a
    // pipeline never writes the buffer it reads).
    Parameters step(*lib_, s), spare(*lib_, s);
    grads.fill(T(0));
    std::vector<int> in_spare(params.count(), 0);  // where each tensor's running sum is
    auto accumulate = [&](size_t i, Parameters &addend) {
        Parameters &from = in_spare[i] ? spare : grads, &to = in_spare[i] ? grads : spare;
        lib_->call("grad_accumulate")
            .bind("acc", *from.flat_tensor(i).buffer())
            .bind("step", *addend.flat_tensor(i).buffer())
            .bind("sum", *to.flat_tensor(i).buffer())
            .run();
        in_spare[i] ^= 1;
    };

    // carry: dL/dh flowing back from later steps (zero before the last step); total: carry
    // plus the readout's share.
    Tensor<T> carry = tr.pool.take(*lib_, ext.hidden), total = tr.pool.take(*lib_, ext.hidden);
    carry.fill(T(0));
    auto cell_back = [&](int k, Tensor<T> &d_next, Tensor<T> &d_prev) {
        // Step 0 started from the zero state: its pipeline has no h_prev and no d_h_prev.
        auto call = lib_->call(k == 0 ? "cell_backward_first" : "cell_backward");
        call.bind("u", *tr.frames[k].buffer())
            .bind("h_next", *tr.states[k].buffer())
            .bind("d_h_next", *d_next.buffer());
        if (k > 0)
            call.bind("h_prev", *tr.states[k - 1].buffer()).bind("d_h_prev", *d_prev.buffer());
        for (size_t i = 0; i < 2; ++i) {
            call.bind(params.argument(i), *params.tensor(i).buffer())
                .bind("grad_" + params.argument(i), *step.tensor(i).buffer());
        }
        call.run();
        accumulate(0, step);
        accumulate(1, step);
    };

    for (int k = tr.t_out - 1; k >= 0; --k) {
        const int cell_step = tr.t_in + k;  // the cell step whose output the readout saw
        auto call = lib_->call("readout_backward");
        call.bind("h", *tr.states[cell_step].buffer())
            .bind("feat", *tr.feats[k].buffer())
            .bind("pred", *tr.preds[k].buffer())
            .bind("target", *tr.targets[k].buffer())
            .bind("d_h_carry", *carry.buffer())
            .bind("d_h", *total.buffer())
            .scalar("grad_scale", scale);
        for (int i = 0; i < s.dec_layers; ++i)
            call.bind("act_" + std::to_string(i), *tr.acts[k][i].buffer());
        for (size_t i = 2; i < params.count(); ++i) {
            call.bind(params.argument(i), *params.tensor(i).buffer())
                .bind("grad_" + params.argument(i), *step.tensor(i).buffer());
        }
        call.run();
        for (size_t i = 2; i < params.count(); ++i) accumulate(i, step);
        cell_back(cell_step, total, carry);
    }
    for (int k = tr.t_in - 1; k >= 0; --k) {
        cell_back(k, carry, total);
        std::swap(carry, total);
    }
    // Sums that ended in `spare` move to grads (adding zeros).
    bool moved = false;
    for (size_t i = 0; i < params.count(); ++i) moved |= in_spare[i] != 0;
    if (moved) {
        step.fill(T(0));
        for (size_t i = 0; i < params.count(); ++i) {
            if (in_spare[i]) accumulate(i, step);
        }
    }
    tr.pool.give(std::move(carry));
    tr.pool.give(std::move(total));
    return loss_value;
}

template <typename T>
Array<T> SequenceModel<T>::predictions(Trace &tr) const {
    const Spec &s = spec();
    Array<T> out({int64_t(tr.batch), int64_t(tr.t_out), int64_t(s.out_channels), int64_t(s.height),
                  int64_t(s.width)});
    for (int t = 0; t < tr.t_out; ++t) frame_to(tr.preds[t], out, t);
    return out;
}

template <typename T>
Array<T> SequenceModel<T>::hidden_states(Trace &tr, int first, int count) const {
    const Spec &s = spec();
    if (!tr.all_states || first < 0 || first + count > int(tr.states.size())) {
        throw std::logic_error("hidden_states: trace does not hold those steps");
    }
    const int64_t B = tr.batch, V = s.num_velocities(), C = s.hidden, H = s.height, W = s.width;
    Array<T> out({B, count, V, C, H, W});
    for (int64_t t = 0; t < count; ++t) {
        Tensor<T> &state = tr.states[first + t];
        state.download_to_mirror();
        const T *h = state.host();
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

template <typename T>
void SequenceModel<T>::forward(const ParameterSet<T> &params, const Array<T> &inputs, int t_out,
                               bool keep_all, Trace &trace, const Array<T> *decoder_inputs) const {
    Parameters p(*lib_, spec());
    p.upload(params);
    forward(p, inputs, t_out, keep_all, trace, decoder_inputs);
}

template <typename T>
double SequenceModel<T>::backward(const ParameterSet<T> &params, const Array<T> &targets,
                                  Trace &trace, ParameterSet<T> &grads) const {
    Parameters p(*lib_, spec()), g(*lib_, spec());
    p.upload(params);
    const double loss = backward(p, targets, trace, g);
    grads = ParameterSet<T>::zeros(spec());
    g.download(grads);
    return loss;
}

template class SequenceModel<float>;
template class SequenceModel<double>;

}  // namespace fernn
