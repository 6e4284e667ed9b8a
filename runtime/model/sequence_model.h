// Runs a compiled model over whole sequences: the forward through time exactly as the
// reference Seq2SeqFERNN (encoder over the input frames; the decoder's first input is the last
// observed frame fed a second time, then each prediction is fed back with no gradient through
// it), the MSE loss over the predicted frames, and backpropagation through time giving the
// gradient of every parameter.
//
// Everything the pipelines touch lives on the model library's current device (device_tensor.h):
// on CUDA, hidden states, decoder activations, parameters and gradients stay in device memory;
// only the input frames go up and predictions (when asked for) and scalars come down.
#pragma once

#include <memory>
#include <vector>

#include "runtime/formats/array.h"
#include "runtime/model/checkpoint.h"
#include "runtime/model/device_tensor.h"
#include "runtime/model/model_library.h"

namespace fernn {

template <typename T>
class SequenceModel {
  public:
    explicit SequenceModel(std::shared_ptr<const ModelLibrary> library);

    const Spec &spec() const { return lib_->spec(); }
    const ModelLibrary &library() const { return *lib_; }

    // Parameters (or their gradients) on the device: one contiguous buffer, a view per tensor.
    class Parameters {
      public:
        Parameters(const ModelLibrary &lib, const Spec &spec);
        void upload(const ParameterSet<T> &host);
        void download(ParameterSet<T> &host);
        void fill(T value) { flat_.fill(value); }
        Tensor<T> &flat() { return flat_; }
        Tensor<T> &tensor(size_t i) { return tensors_.at(i); }     // OIHW, as the pipelines take it
        Tensor<T> &flat_tensor(size_t i) { return flats_.at(i); }  // the same memory, 1-D
        size_t count() const { return tensors_.size(); }
        const std::vector<ParamInfo> &infos() const { return infos_; }
        // The pipelines' argument name of tensor i ("cell.conv_h.weight" -> "cell_conv_h_weight").
        const std::string &argument(size_t i) const { return arguments_.at(i); }

      private:
        std::vector<ParamInfo> infos_;
        std::vector<std::string> arguments_;
        Tensor<T> flat_;
        std::vector<Tensor<T>> tensors_, flats_;
    };

    // What a forward pass keeps, in the pipelines' internal layouts (see generators/layout.h).
    struct Trace {
        int batch = 0, t_in = 0, t_out = 0;
        bool all_states = false;
        std::vector<Tensor<T>> frames;  // the frame fed at each step
        std::vector<Tensor<T>> states;  // h_1 .. h_steps; only the last unless all_states
        std::vector<Tensor<T>> preds, feats;
        std::vector<std::vector<Tensor<T>>> acts;  // [decoder step][layer]
        std::vector<Tensor<T>> targets;            // set by loss(), read by backward()
        TensorPool<T> pool;                        // memory of earlier passes, reused

        // Moves every tensor into the pool, ready for another pass.
        void recycle() {
            for (auto *v : {&frames, &states, &preds, &feats, &targets}) pool.give(*v);
            for (auto &layers : acts) pool.give(layers);
            acts.clear();
        }
    };

    // inputs: (B, T_in, C, H, W). keep_all keeps every hidden state (for BPTT and encode).
    // decoder_inputs, if given, (B, t_out, C, H, W): the frames fed at the decoder steps in
    // place of the model's own (last observed frame, then each prediction), e.g. for teacher
    // forcing. Gradients never flow into fed frames either way.
    void forward(Parameters &params, const Array<T> &inputs, int t_out, bool keep_all, Trace &trace,
                 const Array<T> *decoder_inputs = nullptr) const;

    // Mean squared error of the trace's predictions against targets (B, T_out, C, H, W).
    double loss(Trace &trace, const Array<T> &targets) const;

    // BPTT: sets grads to dL/dparams and returns the loss. Needs a trace made with keep_all.
    double backward(Parameters &params, const Array<T> &targets, Trace &trace,
                    Parameters &grads) const;

    Array<T> predictions(Trace &trace) const;  // (B, T_out, C, H, W)
    // Hidden states after steps first+1 .. first+count: (B, count, V, C, H, W).
    Array<T> hidden_states(Trace &trace, int first, int count) const;

    // The same with host parameters (uploaded for the call): for commands and tests.
    void forward(const ParameterSet<T> &params, const Array<T> &inputs, int t_out, bool keep_all,
                 Trace &trace, const Array<T> *decoder_inputs = nullptr) const;
    double backward(const ParameterSet<T> &params, const Array<T> &targets, Trace &trace,
                    ParameterSet<T> &grads) const;

  private:
    // Halide extents (innermost first) of one batch's tensors.
    struct Extents {
        std::vector<int> frame, feat, hidden;
    };
    Extents extents(int batch) const;
    size_t frame_size(int channels) const;
    void check_sequence(const Array<T> &a, const char *what, int frames) const;
    // (B,T,C,H,W)[:, t] in the pipelines' frame layout, on the device.
    Tensor<T> frame_at(const Array<T> &seq, int t, TensorPool<T> &pool) const;
    // Host copy of a frame tensor in the (B, 1, C, H, W) layout, written into out at frame t.
    void frame_to(Tensor<T> &frame, Array<T> &out, int t) const;

    std::shared_ptr<const ModelLibrary> lib_;
};

}  // namespace fernn
