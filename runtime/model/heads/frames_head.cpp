#include "runtime/model/heads/frames_head.h"

#include <cmath>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
void FramesHead<T>::forward(Parameters<T> &params, Statistics<T> *stats, const ArrayView<T> &inputs,
                            const Options<T> &o, Trace<T> &tr) const {
    if (o.decoder_inputs) {
        this->check_sequence(*o.decoder_inputs, "decoder input", o.t_out);
        if (o.decoder_inputs->shape[0] != inputs.shape[0])
            throw InputError("decoder input batch differs from input");
    }
    for (int t = 0; t < tr.t_in; ++t)
        this->encoder_.step(tr, this->frame_at(inputs, t, tr.pool), params, stats);
    for (int k = 0; k < tr.t_out; ++k) {
        if (o.decoder_inputs) {
            this->encoder_.step(tr, this->frame_at(*o.decoder_inputs, k, tr.pool), params, stats);
        } else if (k == 0) {
            // The last observed frame is fed a second time: the same memory, read again.
            Tensor<T> &last = tr.frames.back();
            this->encoder_.step(tr, tr.keep_all ? last.view(0, last.extents()) : std::move(last),
                                params, stats);
        } else {
            // Each prediction is fed back as it is (a view of it; nothing flows back into it).
            Tensor<T> &pred = tr.preds.back();
            this->encoder_.step(tr, pred.view(0, pred.extents()), params, stats);
        }
        Readout r = readout(tr, tr.states.back().back(), params);
        tr.preds.push_back(std::move(r.pred));
        // With recomputation the backward runs the readout again on the recomputed state.
        if (tr.keep_all && tr.recompute == 0) {
            tr.feats.push_back(std::move(r.feat));
            tr.acts.push_back(std::move(r.acts));
        } else {
            tr.pool.give(std::move(r.feat));
            tr.pool.give(r.acts);
        }
    }
}

template <typename T>
typename FramesHead<T>::Readout FramesHead<T>::readout(Trace<T> &tr, Tensor<T> &h,
                                                       Parameters<T> &params) const {
    const ModelPlan &plan = this->plan();
    const PipelineSignature &sig = plan.pipeline(plan.head, Op::ReadoutForward);
    const int decoder_layers = this->spec().readout.frames.decoder_layers;
    auto out = [&](const std::string &name) {
        return take(tr.pool, this->lib_, sig.find_output(name)->type, tr.batch);
    };
    Readout r{out(arg::pred), out(arg::feat), {}};
    // All allocated before binding: a call keeps pointers to the buffers it was given.
    for (int i = 0; i < decoder_layers; ++i) r.acts.push_back(out(arg::decoder_act(i)));
    Binder<T> call(this->lib_, sig);
    call.data(arg::h, h).data(arg::pred, r.pred).data(arg::feat, r.feat).params(params);
    for (int i = 0; i < decoder_layers; ++i) call.data(arg::decoder_act(i), r.acts[size_t(i)]);
    call.run();
    return r;
}

template <typename T>
double FramesHead<T>::loss(Trace<T> &tr, const ArrayView<T> &targets) const {
    const ModelPlan &plan = this->plan();
    this->check_sequence(targets, "target", tr.t_out);
    if (targets.shape[0] != tr.batch) {
        throw InputError("target has batch " + std::to_string(targets.shape[0]) +
                         " but input has " + std::to_string(tr.batch));
    }
    // Each frame's sum of squares goes into one device vector, read back once.
    tr.pool.give(tr.targets);
    if (tr.t_out == 0) return NAN;
    Tensor<T> sums = tr.pool.take(this->lib_, {tr.t_out});
    const PipelineSignature &sig = plan.pipeline(plan.head, Op::FrameLoss);
    for (int k = 0; k < tr.t_out; ++k) {
        tr.targets.push_back(this->frame_at(targets, k, tr.pool));
        Tensor<T> sse = sums.view(size_t(k), {});
        Binder<T>(this->lib_, sig)
            .data(arg::pred, tr.preds[k])
            .data(arg::target, tr.targets.back())
            .data(arg::sse, sse)
            .run();
    }
    std::vector<T> values(size_t(tr.t_out));
    sums.download(values.data());
    tr.pool.give(std::move(sums));
    double total = 0;
    for (T v : values) total += double(v);
    const InputSpec &in = this->spec().input;
    return total / (double(tr.batch) * tr.t_out * in.channels * in.height * in.width);
}

template <typename T>
double FramesHead<T>::loss_gradient(Trace<T> &tr, const Targets<T> &targets) const {
    if (!targets.frames) throw std::logic_error("the loss of a frame predictor needs frames");
    const double loss_value = loss(tr, *targets.frames);
    const InputSpec &in = this->spec().input;
    // d loss / d pred for the mean over all predicted elements.
    const double scale = 2.0 / (double(tr.batch) * tr.t_out * in.channels * in.height * in.width);
    const PipelineSignature &sig = this->plan().pipeline(this->plan().head, Op::FrameLossGradient);
    tr.pool.give(tr.d_preds);
    for (int k = 0; k < tr.t_out; ++k) {
        Tensor<T> d_pred = take(tr.pool, this->lib_, sig.find_output(arg::d_pred)->type, tr.batch);
        Binder<T>(this->lib_, sig)
            .data(arg::pred, tr.preds[k])
            .data(arg::target, tr.targets[k])
            .scalar(arg::grad_scale, scale)
            .data(arg::d_pred, d_pred)
            .run();
        tr.d_preds.push_back(std::move(d_pred));
    }
    return loss_value;
}

template <typename T>
void FramesHead<T>::set_output_gradient(Trace<T> &tr, const ArrayView<T> &gradient) const {
    this->check_sequence(gradient, "the gradient of the predictions", tr.t_out);
    if (gradient.shape[0] != tr.batch) {
        throw InputError("the gradient of the predictions has batch " +
                         std::to_string(gradient.shape[0]) + " but the input has " +
                         std::to_string(tr.batch));
    }
    tr.pool.give(tr.d_preds);
    for (int k = 0; k < tr.t_out; ++k) tr.d_preds.push_back(this->frame_at(gradient, k, tr.pool));
}

template <typename T>
void FramesHead<T>::backward(Parameters<T> &params, Trace<T> &tr, GradientSum<T> &grads) const {
    if (int(tr.d_preds.size()) != tr.t_out)
        throw std::logic_error("FramesHead::backward: no gradient of the predictions");
    const ModelPlan &plan = this->plan();
    const PipelineSignature &sig = plan.pipeline(plan.head, Op::ReadoutBackward);
    const int decoder_layers = this->spec().readout.frames.decoder_layers;
    this->encoder_.backward(
        tr, params, grads, [&](int t, Tensor<T> &h, Tensor<T> &carry, Tensor<T> &total) {
            const int k = t - tr.t_in;  // the decoder step whose readout saw step t
            if (k < 0) return false;
            Readout again;
            const bool recomputed = tr.recompute > 0;
            if (recomputed) again = readout(tr, h, params);
            Tensor<T> &feat = recomputed ? again.feat : tr.feats[size_t(k)];
            std::vector<Tensor<T>> &acts = recomputed ? again.acts : tr.acts[size_t(k)];
            Binder<T> call(this->lib_, sig);
            call.data(arg::h, h)
                .data(arg::feat, feat)
                .data(arg::d_pred, tr.d_preds[size_t(k)])
                .data(arg::d_h_carry, carry)
                .data(arg::d_h, total)
                .params(params)
                .grads(grads.step());
            for (int i = 0; i < decoder_layers; ++i)
                call.data(arg::decoder_act(i), acts[size_t(i)]);
            call.run();
            grads.accumulate(sig);
            if (recomputed) {
                tr.pool.give(std::move(again.pred));
                tr.pool.give(std::move(again.feat));
                tr.pool.give(again.acts);
            }
            return true;
        });
}

template <typename T>
Array<T> FramesHead<T>::predictions(Trace<T> &tr) const {
    Array<T> out({int64_t(tr.batch), int64_t(tr.t_out), this->spec().readout.frames.channels,
                  this->spec().input.height, this->spec().input.width});
    predictions(tr, out.data.data());
    return out;
}

template <typename T>
void FramesHead<T>::predictions(Trace<T> &tr, T *out) const {
    const InputSpec &s = this->spec().input;
    const int64_t B = tr.batch, Tn = tr.t_out, C = this->spec().readout.frames.channels,
                  H = s.height, W = s.width;
    for (int64_t t = 0; t < Tn; ++t) {
        Tensor<T> &frame = tr.preds[size_t(t)];
        frame.download_to_mirror();
        const T *src = frame.host();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    for (int64_t c = 0; c < C; ++c)
                        out[(((b * Tn + t) * C + c) * H + y) * W + x] =
                            src[((b * H + y) * W + x) * C + c];
    }
}

template class FramesHead<float>;
template class FramesHead<double>;

}  // namespace fernn
