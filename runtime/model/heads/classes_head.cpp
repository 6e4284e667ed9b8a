#include "runtime/model/heads/classes_head.h"

#include <cmath>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
void ClassesHead<T>::forward(Parameters<T> &params, Statistics<T> *stats,
                             const ArrayView<T> &inputs,
                             const Options<T> &, Trace<T> &tr) const {
    const ModelPlan &plan = this->plan();
    const bool mean = mean_over_time();
    const PipelineSignature &pool = plan.pipeline(plan.head, Op::PoolForward);
    const PipelineSignature &add = plan.pipeline(plan.optimizer, Op::GradAccumulate);
    const TensorType &feat_type = pool.find_output(arg::feat)->type;
    auto flat = [](Tensor<T> &t) { return t.view(0, {int(t.size())}); };
    for (int t = 0; t < tr.t_in; ++t) {
        this->encoder_.step(tr, this->frame_at(inputs, t, tr.pool), params, stats);
        if (!reads(t, tr.t_in)) continue;
        Tensor<T> feat = take(tr.pool, this->lib_, feat_type, tr.batch);
        Binder<T>(this->lib_, pool)
            .data(arg::h, tr.states.back().back())
            .data(arg::feat, feat)
            .run();
        if (tr.feat_sum.size() == 0) {
            tr.feat_sum = std::move(feat);
            continue;
        }
        Tensor<T> sum = take(tr.pool, this->lib_, feat_type, tr.batch);
        Tensor<T> a = flat(tr.feat_sum), b = flat(feat), s = flat(sum);
        this->lib_.call(add)
            .bind(arg::acc, *a.buffer())
            .bind(arg::step, *b.buffer())
            .bind(arg::sum, *s.buffer())
            .run();
        tr.pool.give(std::move(tr.feat_sum));
        tr.pool.give(std::move(feat));
        tr.feat_sum = std::move(sum);
    }
    const PipelineSignature &fc = plan.pipeline(plan.head, Op::ClassifierForward);
    tr.logits = take(tr.pool, this->lib_, fc.find_output(arg::logits)->type, tr.batch);
    Binder<T>(this->lib_, fc)
        .data(arg::feat_sum, tr.feat_sum)
        .scalar(arg::time_scale, mean ? 1.0 / tr.t_in : 1.0)
        .data(arg::logits, tr.logits)
        .params(params)
        .run();
}

template <typename T>
void ClassesHead<T>::check_labels(const std::vector<int64_t> &labels, int batch) const {
    const int classes = this->spec().readout.classes.classes;
    if (int64_t(labels.size()) != batch) {
        throw InputError("labels hold " + std::to_string(labels.size()) +
                         " values but the input has batch " + std::to_string(batch));
    }
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= classes) {
            throw InputError("label " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                             "; allowed: 0.." + std::to_string(classes - 1));
        }
    }
}

namespace {

// Mean cross-entropy of logits (B, K) against labels, the number of correct argmax
// predictions and, where d_logits is given, the loss's gradient (softmax − onehot) / B.
template <typename T>
typename ClassesHead<T>::Scores cross_entropy(const Array<T> &z,
                                              const std::vector<int64_t> &labels, T *d_logits) {
    const int64_t B = z.shape[0], K = z.shape[1];
    typename ClassesHead<T>::Scores s;
    for (int64_t b = 0; b < B; ++b) {
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
        if (!d_logits) continue;
        for (int64_t k = 0; k < K; ++k) {
            const double p = std::exp(double(row[k]) - top) / sum;
            d_logits[b * K + k] = T((p - (k == labels[b] ? 1.0 : 0.0)) / double(B));
        }
    }
    s.loss /= double(B);
    return s;
}

}  // namespace

template <typename T>
typename ClassesHead<T>::Scores ClassesHead<T>::scores(Trace<T> &tr,
                                                       const std::vector<int64_t> &labels) const {
    check_labels(labels, tr.batch);
    return cross_entropy<T>(logits(tr), labels, nullptr);
}

template <typename T>
Array<T> ClassesHead<T>::logits(Trace<T> &tr) const {
    Array<T> out({int64_t(tr.batch), int64_t(this->spec().readout.classes.classes)});
    logits(tr, out.data.data());
    return out;
}

template <typename T>
void ClassesHead<T>::logits(Trace<T> &tr, T *out) const {
    tr.logits.download(out);  // (k, b) innermost first is [b][k]
}

template <typename T>
double ClassesHead<T>::loss_gradient(Trace<T> &tr, const Targets<T> &targets) const {
    if (!targets.labels) throw std::logic_error("the loss of a classifier needs labels");
    check_labels(*targets.labels, tr.batch);
    // The logits are read back for the loss value anyway; their gradient is B·K numbers.
    const Array<T> z = logits(tr);
    Array<T> d(z.shape);
    const Scores s = cross_entropy<T>(z, *targets.labels, d.data.data());
    set_output_gradient(tr, d);
    return s.loss;
}

template <typename T>
void ClassesHead<T>::set_output_gradient(Trace<T> &tr, const ArrayView<T> &gradient) const {
    const int64_t K = this->spec().readout.classes.classes;
    if (gradient.shape != std::vector<int64_t>{tr.batch, K}) {
        throw InputError("the gradient of the logits has shape " + shape_text(gradient.shape) +
                         "; the logits are (" + std::to_string(tr.batch) + ", " +
                         std::to_string(K) + ")");
    }
    const TensorType &type =
        this->plan().pipeline(this->plan().head, Op::ClassifierBackward).find_input(arg::d_logits)->type;
    if (tr.d_logits.size() == 0) tr.d_logits = take(tr.pool, this->lib_, type, tr.batch);
    tr.d_logits.upload(gradient.data);
}

template <typename T>
void ClassesHead<T>::backward(Parameters<T> &params, Trace<T> &tr, GradientSum<T> &grads) const {
    if (tr.d_logits.size() == 0)
        throw std::logic_error("ClassesHead::backward: no gradient of the logits");
    const ModelPlan &plan = this->plan();
    const bool mean = mean_over_time();
    const PipelineSignature &fc = plan.pipeline(plan.head, Op::ClassifierBackward);
    Tensor<T> d_feat = take(tr.pool, this->lib_, fc.find_output(arg::d_feat)->type, tr.batch);
    Binder<T>(this->lib_, fc)
        .data(arg::feat_sum, tr.feat_sum)
        .data(arg::d_logits, tr.d_logits)
        .scalar(arg::time_scale, mean ? 1.0 / tr.t_in : 1.0)
        .data(arg::d_feat, d_feat)
        .params(params)
        .grads(grads.step())
        .run();
    grads.accumulate(fc);
    const PipelineSignature &pool = plan.pipeline(plan.head, Op::PoolBackward);
    this->encoder_.backward(tr, params, grads, [&](int t, Tensor<T> &h, Tensor<T> &carry,
                                                  Tensor<T> &total) {
        if (!reads(t, tr.t_in)) return false;
        Binder<T>(this->lib_, pool)
            .data(arg::h, h)
            .data(arg::d_feat, d_feat)
            .data(arg::d_h_carry, carry)
            .data(arg::d_h, total)
            .run();
        return true;
    });
    tr.pool.give(std::move(d_feat));
}

template class ClassesHead<float>;
template class ClassesHead<double>;

}  // namespace fernn
