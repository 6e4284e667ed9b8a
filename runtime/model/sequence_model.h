// Runs a compiled model over whole sequences: the encoder (runtime/model/encoder.h) through
// time and the head the spec's readout names, with its loss and its part of the loop:
//   frames   as the reference Seq2SeqFERNN: after the T_in input frames the decoder's first
//            input is the last observed frame fed a second time, then each prediction is fed
//            back with no gradient through it; the loss is the MSE over the predicted frames
//   classes  as the reference FERNN_Classifier: the copies pooled, the spatial mean, the last
//            step (or the mean over steps), a linear layer -> logits; mean cross-entropy
// and backpropagation through time giving the gradient of every parameter.
#pragma once

#include <memory>
#include <vector>

#include "runtime/formats/array.h"
#include "runtime/model/encoder.h"

namespace fernn {

// What a loss compares with: frames (B, T_out, C, H, W) or class labels (B).
template <typename T>
struct Targets {
    const Array<T> *frames = nullptr;
    const std::vector<int64_t> *labels = nullptr;
};

template <typename T>
class SequenceModel {
  public:
    using Parameters = fernn::Parameters<T>;
    using Statistics = fernn::Statistics<T>;

    explicit SequenceModel(std::shared_ptr<const ModelLibrary> library);

    const Spec &spec() const { return lib_->spec(); }
    const ModelPlan &plan() const { return lib_->plan(); }
    const ModelLibrary &library() const { return *lib_; }
    bool classifies() const { return spec().readout.kind == "classes"; }

    struct Trace : EncoderTrace<T> {
        int t_in = 0, t_out = 0;
        // frames head
        std::vector<Tensor<T>> preds, feats;
        std::vector<std::vector<Tensor<T>>> acts;  // [decoder step][layer]
        std::vector<Tensor<T>> targets;            // set by loss(), read by backward()
        // classes head: the pooled features (summed over steps for time "mean"), the logits
        Tensor<T> feat_sum, logits;
        Tensor<int32_t> labels;
    };

    struct Options {
        Mode mode = Mode::Eval;
        bool keep_all = false;  // keep every state and what backward() reads
        int t_out = 0;          // frames: frames to predict
        // frames: (B, t_out, C, H, W) fed at the decoder steps in place of the model's own
        // (last observed frame, then each prediction), e.g. for teacher forcing.
        const Array<T> *decoder_inputs = nullptr;
    };

    // inputs: (B, T_in, C, H, W). stats may be null for models without BatchNorm.
    void forward(Parameters &params, Statistics *stats, const Array<T> &inputs, const Options &o,
                 Trace &trace) const;

    // frames: mean squared error of the predictions against targets (B, T_out, C, H, W).
    double loss(Trace &trace, const Array<T> &targets) const;
    Array<T> predictions(Trace &trace) const;  // (B, T_out, C, H, W)

    // classes: mean cross-entropy and the number of correct argmax predictions.
    struct ClassScores {
        double loss = 0;
        int64_t correct = 0;
    };
    ClassScores class_scores(Trace &trace, const std::vector<int64_t> &labels) const;
    Array<T> logits(Trace &trace) const;  // (B, K)

    // BPTT: sets grads to dL/dparams and returns the loss. Needs a training-mode trace made
    // with keep_all.
    double backward(Parameters &params, const Targets<T> &targets, Trace &trace,
                    Parameters &grads) const;

    // Hidden states of `layer` after steps first+1 .. first+count: (B, count, V, C, H, W).
    Array<T> hidden_states(Trace &trace, int layer, int first, int count) const;

    // The same with host weights (uploaded for the call): for commands and tests.
    void forward(const ModelWeights<T> &weights, const Array<T> &inputs, const Options &o,
                 Trace &trace) const;
    double backward(const ModelWeights<T> &weights, const Targets<T> &targets, Trace &trace,
                    ParameterSet<T> &grads) const;

  private:
    void check_sequence(const Array<T> &a, const char *what, int frames) const;
    // (B,T,C,H,W)[:, t] in the pipelines' frame layout, on the device.
    Tensor<T> frame_at(const Array<T> &seq, int t, TensorPool<T> &pool) const;
    void frames_forward(Parameters &params, Statistics *stats, const Array<T> &inputs,
                        const Options &o, Trace &trace) const;
    void classes_forward(Parameters &params, Statistics *stats, const Array<T> &inputs,
                         Trace &trace) const;
    double frames_backward(Parameters &params, const Array<T> &targets, Trace &trace,
                           GradientSum<T> &grads) const;
    double classes_backward(Parameters &params, const std::vector<int64_t> &labels, Trace &trace,
                            GradientSum<T> &grads) const;
    void check_labels(const std::vector<int64_t> &labels, int batch) const;

    std::shared_ptr<const ModelLibrary> lib_;
    Encoder<T> encoder_;
};

}  // namespace fernn
