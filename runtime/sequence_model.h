// Runs a compiled model over whole sequences: the forward through time exactly as the
// reference Seq2SeqFERNN (encoder over the input frames; the decoder's first input is the last
// observed frame fed a second time, then each prediction is fed back with no gradient through
// it), the MSE loss over the predicted frames, and backpropagation through time giving the
// gradient of every parameter.
#pragma once

#include <memory>
#include <vector>

#include "array.h"
#include "checkpoint.h"
#include "model_library.h"

namespace fernn {

template <typename T>
class SequenceModel {
  public:
    explicit SequenceModel(std::shared_ptr<const ModelLibrary> library);

    const Spec &spec() const { return lib_->spec(); }
    const ModelLibrary &library() const { return *lib_; }

    // What a forward pass keeps, in the pipelines' internal layouts (see generators/layout.h).
    struct Trace {
        int batch = 0, t_in = 0, t_out = 0;
        bool all_states = false;
        std::vector<AlignedVector<T>> frames;  // the frame fed at each step
        std::vector<AlignedVector<T>>
            states;  // h_0 (zeros) .. h_{steps}; only the last unless all_states
        std::vector<AlignedVector<T>> preds, feats;
        std::vector<std::vector<AlignedVector<T>>> acts;  // [decoder step][layer]
    };

    // inputs: (B, T_in, C, H, W). keep_all keeps every hidden state (for BPTT and encode).
    // decoder_inputs, if given, (B, t_out, C, H, W): the frames fed at the decoder steps in
    // place of the model's own (last observed frame, then each prediction), e.g. for teacher
    // forcing. Gradients never flow into fed frames either way.
    void forward(const ParameterSet<T> &params, const Array<T> &inputs, int t_out, bool keep_all,
                 Trace &trace, const Array<T> *decoder_inputs = nullptr) const;

    // Mean squared error of the trace's predictions against targets (B, T_out, C, H, W).
    double loss(const Trace &trace, const Array<T> &targets) const;

    // BPTT: adds dL/dparams into grads (which it zeroes first) and returns the loss.
    // Needs a trace made with keep_all.
    double backward(const ParameterSet<T> &params, const Array<T> &targets, const Trace &trace,
                    ParameterSet<T> &grads) const;

    Array<T> predictions(const Trace &trace) const;  // (B, T_out, C, H, W)
    // Hidden states after steps first+1 .. first+count: (B, count, V, C, H, W).
    Array<T> hidden_states(const Trace &trace, int first, int count) const;

  private:
    // Halide extents (innermost first) of one batch's tensors.
    struct Extents {
        std::vector<int> frame, feat, hidden;
    };
    Extents extents(int batch) const;
    // A view of `data` kept alive by `keep` until the pipeline call returns.
    BufferView *view(const AlignedVector<T> &data, const std::vector<int> &extents,
                     std::vector<std::unique_ptr<BufferView>> &keep) const;
    size_t frame_size(int channels) const;
    size_t state_size() const;
    void check_sequence(const Array<T> &a, const char *what, int frames) const;
    AlignedVector<T> frame_at(const Array<T> &seq, int t) const;  // (B,T,C,H,W)[:, t] -> internal

    std::shared_ptr<const ModelLibrary> lib_;
};

}  // namespace fernn
