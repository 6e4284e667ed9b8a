// The frames head (the reference Seq2SeqFERNN): after the T_in input frames the decoder's first
// input is the last observed frame fed a second time, then each prediction is fed back with no
// gradient through it; the readout (pool over copies, decoder convs) predicts a frame after each
// decoder step; the built-in loss is the mean squared error over the predicted frames.
#pragma once

#include "runtime/model/heads/head.h"

namespace fernn {

template <typename T>
class FramesHead : public Head<T> {
  public:
    using Head<T>::Head;
    void forward(Parameters<T> &params, Statistics<T> *stats, const ArrayView<T> &inputs,
                 const Options<T> &o, Trace<T> &trace) const override;
    double loss_gradient(Trace<T> &trace, const Targets<T> &targets) const override;
    void set_output_gradient(Trace<T> &trace, const ArrayView<T> &gradient) const override;
    void backward(Parameters<T> &params, Trace<T> &trace, GradientSum<T> &grads) const override;

    // Mean squared error of the trace's predictions against targets (B, T_out, C, H, W).
    double loss(Trace<T> &trace, const ArrayView<T> &targets) const;
    // The predictions (B, T_out, C, H, W), into `out` (C order) or a new array.
    void predictions(Trace<T> &trace, T *out) const;
    Array<T> predictions(Trace<T> &trace) const;

  private:
    // The readout on the top state h: the prediction and what the readout's backward reads
    // (the pooled features, each decoder layer's activation), taken from the pool.
    struct Readout {
        Tensor<T> pred, feat;
        std::vector<Tensor<T>> acts;
    };
    Readout readout(Trace<T> &trace, Tensor<T> &h, Parameters<T> &params) const;
};

}  // namespace fernn
