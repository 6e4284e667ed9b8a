// The classes head (the reference FERNN_Classifier): after each step it reads (the last, or
// every one for time "mean") the top state is pooled over copies and averaged over pixels;
// the features (their mean over steps) go through a linear layer to logits; the built-in loss
// is the mean cross-entropy.
#pragma once

#include "runtime/model/heads/head.h"

namespace fernn {

template <typename T>
class ClassesHead : public Head<T> {
  public:
    using Head<T>::Head;
    void forward(Parameters<T> &params, Statistics<T> *stats, const ArrayView<T> &inputs,
                 const Options<T> &o, Trace<T> &trace) const override;
    double loss_gradient(Trace<T> &trace, const Targets<T> &targets) const override;
    void set_output_gradient(Trace<T> &trace, const ArrayView<T> &gradient) const override;
    void backward(Parameters<T> &params, Trace<T> &trace, GradientSum<T> &grads) const override;

    struct Scores {
        double loss = 0;      // mean cross-entropy
        int64_t correct = 0;  // argmax predictions equal to the label
    };
    Scores scores(Trace<T> &trace, const std::vector<int64_t> &labels) const;
    Array<T> logits(Trace<T> &trace) const;  // (B, K)
    void logits(Trace<T> &trace, T *out) const;

  private:
    bool mean_over_time() const { return this->spec().readout.classes.time == "mean"; }
    // Whether the head reads the top state after step t of t_in.
    bool reads(int t, int t_in) const { return mean_over_time() || t + 1 == t_in; }
    void check_labels(const std::vector<int64_t> &labels, int batch) const;
};

}  // namespace fernn
