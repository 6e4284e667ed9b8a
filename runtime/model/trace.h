// What one pass over a batch of sequences keeps (the encoder's trace plus each head's own
// tensors and the gradient the backward starts from), how a pass runs (Options) and what a
// built-in loss compares with (Targets).
#pragma once

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
struct Trace : EncoderTrace<T> {
    int t_in = 0, t_out = 0;
    // frames head
    std::vector<Tensor<T>> preds, feats;
    std::vector<std::vector<Tensor<T>>> acts;  // [decoder step][layer]
    std::vector<Tensor<T>> targets;            // set by the loss
    // classes head: the pooled features (summed over steps for time "mean"), the logits
    Tensor<T> feat_sum, logits;
    // Where the backward starts: dL/dpred per decoder step (frames) or dL/dlogits (classes),
    // from the built-in loss or given by the caller.
    std::vector<Tensor<T>> d_preds;
    Tensor<T> d_logits;

    // Starts a pass: every tensor back into the pool.
    void recycle(int batch, Mode mode, bool keep_all, int layers, int recompute = 0) {
        for (auto *v : {&preds, &feats, &targets, &d_preds}) this->pool.give(*v);
        for (auto &layer : acts) this->pool.give(layer);
        acts.clear();
        for (auto *t : {&feat_sum, &logits, &d_logits}) this->pool.give(std::move(*t));
        this->reset(batch, mode, keep_all, layers, recompute);
    }
};

template <typename T>
struct Options {
    Mode mode = Mode::Eval;
    bool keep_all = false;  // keep every state and what the backward reads
    // With keep_all: K > 0 keeps every K-th state only and the backward recomputes the rest
    // (EncoderTrace::recompute); 0 keeps everything.
    int recompute = 0;
    int t_out = 0;          // frames: frames to predict
    // frames: (B, t_out, C, H, W) fed at the decoder steps in place of the model's own
    // (last observed frame, then each prediction), e.g. for teacher forcing.
    const Array<T> *decoder_inputs = nullptr;
};

}  // namespace fernn
