#include "runtime/model/heads/classes_head.h"

#include <cmath>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
void ClassesHead<T>::forward(Parameters<T> &params, Statistics<T> *stats, const Array<T> &inputs,
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

template <typename T>
typename ClassesHead<T>::Scores ClassesHead<T>::scores(Trace<T> &tr,
                                                       const std::vector<int64_t> &labels) const {
    check_labels(labels, tr.batch);
    const Array<T> z = logits(tr);
    const int64_t K = z.shape[1];
    Scores s;
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
Array<T> ClassesHead<T>::logits(Trace<T> &tr) const {
    const int64_t K = this->spec().readout.classes.classes;
    Array<T> out({int64_t(tr.batch), K});
    tr.logits.download(out.data.data());  // (k, b) innermost first is [b][k]
    return out;
}

template <typename T>
double ClassesHead<T>::backward(Parameters<T> &params, const Targets<T> &targets, Trace<T> &tr,
                                GradientSum<T> &grads) const {
    if (!targets.labels) throw std::logic_error("backward of a classifier needs labels");
    const std::vector<int64_t> &labels = *targets.labels;
    const ModelPlan &plan = this->plan();
    const Scores result = scores(tr, labels);
    const bool mean = mean_over_time();
    std::vector<int32_t> host(labels.begin(), labels.end());
    if (int(tr.labels.size()) != tr.batch) tr.labels = Tensor<int32_t>(this->lib_, {tr.batch});
    tr.labels.upload(host.data());
    const PipelineSignature &fc = plan.pipeline(plan.head, Op::ClassifierBackward);
    Tensor<T> d_feat = take(tr.pool, this->lib_, fc.find_output(arg::d_feat)->type, tr.batch);
    Binder<T>(this->lib_, fc)
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
    this->encoder_.backward(tr, params, grads, [&](int t, Tensor<T> &carry, Tensor<T> &total) {
        if (!reads(t, tr.t_in)) return false;
        Binder<T>(this->lib_, pool)
            .data(arg::h, tr.states.back()[t])
            .data(arg::d_feat, d_feat)
            .data(arg::d_h_carry, carry)
            .data(arg::d_h, total)
            .run();
        return true;
    });
    tr.pool.give(std::move(d_feat));
    return result.loss;
}

template class ClassesHead<float>;
template class ClassesHead<double>;

}  // namespace fernn
