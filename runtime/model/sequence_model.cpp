#include "runtime/model/sequence_model.h"

#include <cmath>
#include <stdexcept>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
SequenceModel<T>::SequenceModel(std::shared_ptr<const ModelLibrary> library)
    : lib_(std::move(library)), encoder_(*lib_) {
    if (lib_->is_float64() != (sizeof(T) == 8)) {
        throw InputError(lib_->dir() + ": the model was compiled for " +
                         (lib_->is_float64() ? "float64" : "float32") + " but is run as " +
                         (sizeof(T) == 8 ? "float64" : "float32"));
    }
}

template <typename T>
void SequenceModel<T>::check_sequence(const Array<T> &a, const char *what, int frames) const {
    const InputSpec &s = spec().input;
    // frames < 0: any number of frames >= 1.
    const bool ok = a.shape.size() == 5 && a.shape[0] >= 1 &&
                    (frames < 0 ? a.shape[1] >= 1 : a.shape[1] == frames) &&
                    a.shape[2] == s.channels && a.shape[3] == s.height && a.shape[4] == s.width;
    if (!ok) {
        throw InputError(std::string(what) + " has shape " + shape_text(a.shape) + "; spec " +
                         spec().name + " needs (B, " +
                         (frames >= 0 ? std::to_string(frames) : std::string("T >= 1")) + ", " +
                         std::to_string(s.channels) + ", " + std::to_string(s.height) + ", " +
                         std::to_string(s.width) + ") with B >= 1");
    }
}

template <typename T>
Tensor<T> SequenceModel<T>::frame_at(const Array<T> &seq, int t, TensorPool<T> &pool) const {
    const InputSpec &s = spec().input;
    const int64_t B = seq.shape[0], Tn = seq.shape[1], C = s.channels, H = s.height, W = s.width;
    AlignedVector<T> host(B * C * H * W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    host[((b * H + y) * W + x) * C + c] =
                        seq.data[(((b * Tn + t) * C + c) * H + y) * W + x];
    Tensor<T> frame = take(pool, *lib_, TensorType::frame(int(C)), int(B));
    frame.upload(host.data());
    return frame;
}

template <typename T>
void SequenceModel<T>::forward(Parameters &params, Statistics *stats, const Array<T> &inputs,
                               const Options &o, Trace &tr) const {
    check_sequence(inputs, "input", -1);
    if (!classifies() && o.t_out < 0)
        throw InputError("the number of predicted frames must be >= 0");
    if (o.decoder_inputs) {
        check_sequence(*o.decoder_inputs, "decoder input", o.t_out);
        if (o.decoder_inputs->shape[0] != inputs.shape[0])
            throw InputError("decoder input batch differs from input");
    }
    for (auto *v : {&tr.preds, &tr.feats, &tr.targets}) tr.pool.give(*v);
    for (auto &layers : tr.acts) tr.pool.give(layers);
    tr.acts.clear();
    tr.pool.give(std::move(tr.feat_sum));
    tr.pool.give(std::move(tr.logits));
    tr.reset(int(inputs.shape[0]), o.mode, o.keep_all, spec().layers());
    tr.t_in = int(inputs.shape[1]);
    tr.t_out = classifies() ? 0 : o.t_out;
    if (classifies()) {
        classes_forward(params, stats, inputs, tr);
    } else {
        frames_forward(params, stats, inputs, o, tr);
    }
}

template <typename T>
void SequenceModel<T>::frames_forward(Parameters &params, Statistics *stats,
                                      const Array<T> &inputs, const Options &o, Trace &tr) const {
    const ModelPlan &plan = this->plan();
    for (int t = 0; t < tr.t_in; ++t)
        encoder_.step(tr, frame_at(inputs, t, tr.pool), params, stats);
    const PipelineSignature &readout = plan.pipeline(plan.head, Op::ReadoutForward);
    const int decoder_layers = spec().readout.frames.decoder_layers;
    for (int k = 0; k < tr.t_out; ++k) {
        if (o.decoder_inputs) {
            encoder_.step(tr, frame_at(*o.decoder_inputs, k, tr.pool), params, stats);
        } else if (k == 0) {
            // The last observed frame is fed a second time: the same memory, read again.
            Tensor<T> &last = tr.frames.back();
            encoder_.step(tr, tr.keep_all ? last.view(0, last.extents()) : std::move(last), params,
                          stats);
        } else {
            // Each prediction is fed back as it is (a view of it; nothing flows back into it).
            Tensor<T> &pred = tr.preds.back();
            encoder_.step(tr, pred.view(0, pred.extents()), params, stats);
        }
        auto out = [&](const std::string &name) {
            return take(tr.pool, *lib_, readout.find_output(name)->type, tr.batch);
        };
        Tensor<T> pred = out(arg::pred), feat = out(arg::feat);
        std::vector<Tensor<T>> acts;
        // All allocated before binding: a call keeps pointers to the buffers it was given.
        for (int i = 0; i < decoder_layers; ++i) acts.push_back(out(arg::decoder_act(i)));
        Binder<T> call(*lib_, readout);
        call.data(arg::h, tr.states.back().back())
            .data(arg::pred, pred)
            .data(arg::feat, feat)
            .params(params);
        for (int i = 0; i < decoder_layers; ++i) call.data(arg::decoder_act(i), acts[i]);
        call.run();
        tr.preds.push_back(std::move(pred));
        if (tr.keep_all) {
            tr.feats.push_back(std::move(feat));
            tr.acts.push_back(std::move(acts));
        } else {
            tr.pool.give(std::move(feat));
            tr.pool.give(acts);
        }
    }
}

template <typename T>
void SequenceModel<T>::classes_forward(Parameters &params, Statistics *stats,
                                       const Array<T> &inputs, Trace &tr) const {
    const ModelPlan &plan = this->plan();
    const bool mean = spec().readout.classes.time == "mean";
    const PipelineSignature &pool = plan.pipeline(plan.head, Op::PoolForward);
    const PipelineSignature &add = plan.pipeline(plan.optimizer, Op::GradAccumulate);
    const TensorType &feat_type = pool.find_output(arg::feat)->type;
    auto flat = [](Tensor<T> &t) { return t.view(0, {int(t.size())}); };
    for (int t = 0; t < tr.t_in; ++t) {
        encoder_.step(tr, frame_at(inputs, t, tr.pool), params, stats);
        if (!mean && t + 1 < tr.t_in) continue;
        Tensor<T> feat = take(tr.pool, *lib_, feat_type, tr.batch);
        Binder<T>(*lib_, pool).data(arg::h, tr.states.back().back()).data(arg::feat, feat).run();
        if (tr.feat_sum.size() == 0) {
            tr.feat_sum = std::move(feat);
            continue;
        }
        Tensor<T> sum = take(tr.pool, *lib_, feat_type, tr.batch);
        Tensor<T> a = flat(tr.feat_sum), b = flat(feat), s = flat(sum);
        lib_->call(add)
            .bind(arg::acc, *a.buffer())
            .bind(arg::step, *b.buffer())
            .bind(arg::sum, *s.buffer())
            .run();
        tr.pool.give(std::move(tr.feat_sum));
        tr.pool.give(std::move(feat));
        tr.feat_sum = std::move(sum);
    }
    const PipelineSignature &fc = plan.pipeline(plan.head, Op::ClassifierForward);
    tr.logits = take(tr.pool, *lib_, fc.find_output(arg::logits)->type, tr.batch);
    Binder<T>(*lib_, fc)
        .data(arg::feat_sum, tr.feat_sum)
        .scalar(arg::time_scale, mean ? 1.0 / tr.t_in : 1.0)
        .data(arg::logits, tr.logits)
        .params(params)
        .run();
}

template <typename T>
double SequenceModel<T>::loss(Trace &tr, const Array<T> &targets) const {
    if (classifies()) throw std::logic_error("loss(frames) on a classifier");
    const ModelPlan &plan = this->plan();
    check_sequence(targets, "target", tr.t_out);
    if (targets.shape[0] != tr.batch) {
        throw InputError("target has batch " + std::to_string(targets.shape[0]) +
                         " but input has " + std::to_string(tr.batch));
    }
    // Each frame's sum of squares goes into one device vector, read back once.
    tr.pool.give(tr.targets);
    if (tr.t_out == 0) return NAN;
    Tensor<T> sums = tr.pool.take(*lib_, {tr.t_out});
    const PipelineSignature &sig = plan.pipeline(plan.head, Op::FrameLoss);
    for (int k = 0; k < tr.t_out; ++k) {
        tr.targets.push_back(frame_at(targets, k, tr.pool));
        Tensor<T> sse = sums.view(size_t(k), {});
        Binder<T>(*lib_, sig)
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
    const InputSpec &in = spec().input;
    return total / (double(tr.batch) * tr.t_out * in.channels * in.height * in.width);
}

template <typename T>
void SequenceModel<T>::check_labels(const std::vector<int64_t> &labels, int batch) const {
    const int classes = spec().readout.classes.classes;
    if (int64_t(labels.size()) != batch) {
        throw InputError("labels hold " + std::to_string(labels.size()) + " values but the input has batch " +
                         std::to_string(batch));
    }
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) {
            throw InputError("label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                             "; allowed: 0.." + std::to_string(classes - 1));
        }
    }
}

template <typename T>
typename SequenceModel<T>::ClassScores SequenceModel<T>::class_scores(
    Trace &tr, const std::vector<int64_t> &labels) const {
    check_labels(labels, tr.batch);
    const Array<T> z = logits(tr);
    const int64_t K = z.shape[1];
    ClassScores s;
    for (int64_t b = 0; b < tr.batch; ++b) {
        const T *row = &z.data[b * K];
        double top = row[0];
        int64_t arg = 0;
        for (int64_t k = 1; k < K; ++k) {
            if (row[k] > top) {
                top = row[k];
                arg = k;
            }
        }
        double sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += std::exp(double(row[k]) - top);
        s.loss += top + std::log(sum) - double(row[labels[b]]);
        s.correct += arg == labels[b];
    }
    s.loss /= double(tr.batch);
    return s;
}

template <typename T>
Array<T> SequenceModel<T>::logits(Trace &tr) const {
    if (!classifies()) throw std::logic_error("logits() of a frame predictor");
    const int64_t K = spec().readout.classes.classes;
    Array<T> out({int64_t(tr.batch), K});
    tr.logits.download(out.data.data());  // (k, b) innermost first is [b][k]
    return out;
}

template <typename T>
double SequenceModel<T>::backward(Parameters &params, const Targets<T> &targets, Trace &tr,
                                  Parameters &grads) const {
    if (!tr.keep_all || tr.mode != Mode::Train)
        throw std::logic_error("backward needs a training-mode forward trace made with keep_all");
    GradientSum<T> sum(*lib_, grads);
    double loss;
    if (classifies()) {
        if (!targets.labels) throw std::logic_error("backward of a classifier needs labels");
        loss = classes_backward(params, *targets.labels, tr, sum);
    } else {
        if (!targets.frames) throw std::logic_error("backward of a frame predictor needs frames");
        loss = frames_backward(params, *targets.frames, tr, sum);
    }
    sum.finish();
    return loss;
}

template <typename T>
double SequenceModel<T>::frames_backward(Parameters &params, const Array<T> &targets, Trace &tr,
                                         GradientSum<T> &grads) const {
    const ModelPlan &plan = this->plan();
    const double loss_value = loss(tr, targets);
    const InputSpec &in = spec().input;
    // d loss / d pred for the mean over all predicted elements.
    const double scale =
        2.0 / (double(tr.batch) * tr.t_out * in.channels * in.height * in.width);
    const PipelineSignature &sig = plan.pipeline(plan.head, Op::ReadoutBackward);
    const int decoder_layers = spec().readout.frames.decoder_layers;
    encoder_.backward(tr, params, grads, [&](int t, Tensor<T> &carry, Tensor<T> &total) {
        const int k = t - tr.t_in;  // the decoder step whose readout saw step t
        if (k < 0) return false;
        Binder<T> call(*lib_, sig);
        call.data(arg::h, tr.states.back()[t])
            .data(arg::feat, tr.feats[k])
            .data(arg::pred, tr.preds[k])
            .data(arg::target, tr.targets[k])
            .data(arg::d_h_carry, carry)
            .data(arg::d_h, total)
            .scalar(arg::grad_scale, scale)
            .params(params)
            .grads(grads.step());
        for (int i = 0; i < decoder_layers; ++i) call.data(arg::decoder_act(i), tr.acts[k][i]);
        call.run();
        grads.accumulate(sig);
        return true;
    });
    return loss_value;
}

template <typename T>
double SequenceModel<T>::classes_backward(Parameters &params, const std::vector<int64_t> &labels,
                                          Trace &tr, GradientSum<T> &grads) const {
    const ModelPlan &plan = this->plan();
    const ClassScores scores = class_scores(tr, labels);
    const bool mean = spec().readout.classes.time == "mean";
    std::vector<int32_t> host(labels.begin(), labels.end());
    if (int(tr.labels.size()) != tr.batch) tr.labels = Tensor<int32_t>(*lib_, {tr.batch});
    tr.labels.upload(host.data());
    const PipelineSignature &fc = plan.pipeline(plan.head, Op::ClassifierBackward);
    Tensor<T> d_feat = take(tr.pool, *lib_, fc.find_output(arg::d_feat)->type, tr.batch);
    Binder<T>(*lib_, fc)
        .data(arg::feat_sum, tr.feat_sum)
        .data(arg::logits, tr.logits)
        .labels(arg::labels, tr.labels)
        .scalar(arg::time_scale, mean ? 1.0 / tr.t_in : 1.0)
        .scalar(arg::loss_scale, 1.0 / tr.batch)
        .data(arg::d_feat, d_feat)
        .params(params)
        .grads(grads.step())
        .run();
    grads.accumulate(fc);
    const PipelineSignature &pool = plan.pipeline(plan.head, Op::PoolBackward);
    encoder_.backward(tr, params, grads, [&](int t, Tensor<T> &carry, Tensor<T> &total) {
        if (!mean && t + 1 < tr.t_in) return false;
        Binder<T>(*lib_, pool)
            .data(arg::h, tr.states.back()[t])
            .data(arg::d_feat, d_feat)
            .data(arg::d_h_carry, carry)
            .data(arg::d_h, total)
            .run();
        return true;
    });
    tr.pool.give(std::move(d_feat));
    return scores.loss;
}

template <typename T>
Array<T> SequenceModel<T>::predictions(Trace &tr) const {
    const InputSpec &s = spec().input;
    const int64_t B = tr.batch, Tn = tr.t_out, C = spec().readout.frames.channels, H = s.height,
                  W = s.width;
    Array<T> out({B, Tn, C, H, W});
    for (int64_t t = 0; t < Tn; ++t) {
        Tensor<T> &frame = tr.preds[size_t(t)];
        frame.download_to_mirror();
        const T *src = frame.host();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    for (int64_t c = 0; c < C; ++c)
                        out.data[(((b * Tn + t) * C + c) * H + y) * W + x] =
                            src[((b * H + y) * W + x) * C + c];
    }
    return out;
}

template <typename T>
Array<T> SequenceModel<T>::hidden_states(Trace &tr, int layer, int first, int count) const {
    return encoder_.states(tr, layer, first, count);
}

template <typename T>
void SequenceModel<T>::forward(const ModelWeights<T> &w, const Array<T> &inputs, const Options &o,
                               Trace &trace) const {
    Parameters p(*lib_);
    p.upload(w.params);
    Statistics s(*lib_);
    s.upload(w.stats);
    forward(p, &s, inputs, o, trace);
}

template <typename T>
double SequenceModel<T>::backward(const ModelWeights<T> &w, const Targets<T> &targets,
                                  Trace &trace, ParameterSet<T> &grads) const {
    Parameters p(*lib_), g(*lib_);
    p.upload(w.params);
    const double loss = backward(p, targets, trace, g);
    grads = ParameterSet<T>::zeros(plan());
    g.download(grads);
    return loss;
}

template class SequenceModel<float>;
template class SequenceModel<double>;

}  // namespace fernn
