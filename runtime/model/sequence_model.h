// Runs a compiled model over whole sequences: the encoder (runtime/model/encoder.h) through
// time and the head the spec's readout names (runtime/model/heads/), with its loss and its part
// of the loop, and backpropagation through time giving the gradient of every parameter, from
// the built-in loss or from a caller's gradient of the outputs (any loss):
//   frames   as the reference Seq2SeqFERNN: predicted frames fed back, MSE
//   classes  as the reference FERNN_Classifier: logits from the pooled top state, cross-entropy
#pragma once

#include <memory>
#include <vector>

#include "runtime/model/heads/classes_head.h"
#include "runtime/model/heads/frames_head.h"

namespace fernn {

// The outputs of a forward over `batch` sequences of `spec`'s model: (B, t_out, C, H, W)
// predicted frames, or (B, K) logits (t_out ignored).
std::vector<int64_t> output_shape(const Spec &spec, int64_t batch, int64_t t_out);

template <typename T>
class SequenceModel {
  public:
    using Parameters = fernn::Parameters<T>;
    using Statistics = fernn::Statistics<T>;
    using Trace = fernn::Trace<T>;
    using Options = fernn::Options<T>;
    using ClassScores = typename ClassesHead<T>::Scores;

    explicit SequenceModel(std::shared_ptr<const ModelLibrary> library);

    const Spec &spec() const { return lib_->spec(); }
    const ModelPlan &plan() const { return lib_->plan(); }
    const ModelLibrary &library() const { return *lib_; }
    bool classifies() const { return spec().readout.kind == "classes"; }

    // inputs: (B, T_in, C, H, W). stats may be null for models without BatchNorm.
    void forward(Parameters &params, Statistics *stats, const ArrayView<T> &inputs,
                 const Options &o, Trace &trace) const;

    // frames: mean squared error of the predictions against targets (B, T_out, C, H, W).
    double loss(Trace &trace, const ArrayView<T> &targets) const;
    Array<T> predictions(Trace &trace) const;  // (B, T_out, C, H, W)
    // classes: mean cross-entropy and the number of correct argmax predictions; the logits.
    ClassScores class_scores(Trace &trace, const std::vector<int64_t> &labels) const;
    Array<T> logits(Trace &trace) const;  // (B, K)
    // The outputs, predictions or logits, into `out` (C order, output_shape(trace)).
    void outputs(Trace &trace, T *out) const;
    std::vector<int64_t> output_shape(const Trace &trace) const;

    // BPTT: sets grads to dL/dparams and returns the loss. Needs a training-mode trace made
    // with keep_all.
    double backward(Parameters &params, const Targets<T> &targets, Trace &trace,
                    Parameters &grads) const;
    // The same from dL/d(outputs) of any loss, shaped as output_shape(trace).
    void backward(Parameters &params, const ArrayView<T> &output_gradient, Trace &trace,
                  Parameters &grads) const;

    // Hidden states of `layer` after steps first+1 .. first+count: (B, count, V, C, H, W).
    Array<T> hidden_states(Trace &trace, int layer, int first, int count) const;

    // The same with host weights (uploaded for the call): for commands and tests.
    void forward(const ModelWeights<T> &weights, const Array<T> &inputs, const Options &o,
                 Trace &trace) const;
    double backward(const ModelWeights<T> &weights, const Targets<T> &targets, Trace &trace,
                    ParameterSet<T> &grads) const;

  private:
    const FramesHead<T> &frames() const;
    const ClassesHead<T> &classes() const;

    std::shared_ptr<const ModelLibrary> lib_;
    Encoder<T> encoder_;
    std::unique_ptr<Head<T>> head_;
};

}  // namespace fernn
