// The encoder: one time step through the lifting and every recurrent layer, and
// backpropagation through time given, at each step, what the head adds to the top layer's
// gradient. Pipelines are called by the plan's signatures: a forward's outputs that its
// backward reads are kept in the trace by name, the rest go back to the pool.
//
// Everything lives on the model library's current device (device_tensor.h): on CUDA, states,
// saved activations, parameters and gradients stay in device memory.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "runtime/model/parameters.h"

namespace fernn {

// BatchNorm: training mode normalizes with batch statistics and moves the running estimates;
// evaluation mode normalizes with the running estimates. Layers without BatchNorm are the same
// in both.
enum class Mode { Train, Eval };

template <typename T>
using Saved = std::map<std::string, Tensor<T>>;

template <typename T>
struct EncoderTrace {
    int batch = 0, steps = 0;
    Mode mode = Mode::Eval;
    bool keep_all = false;  // keep what the backward reads (every state, or see recompute)
    // Recomputation (keep_all only): with K > 0 the forward keeps every frame but only the
    // states after steps K-1, 2K-1, … and the last, and none of the saved activations (nor
    // the heads theirs); the backward recomputes each segment of K steps from the state
    // before it. Memory falls
    // from T steps' states and activations to T/K states plus K steps', at the cost of one
    // more forward; the gradients are the same bits.
    int recompute = 0;
    // Indexed by step; a slot whose tensor is not kept is empty (size 0).
    std::vector<Tensor<T>> frames;               // the frame fed at each step
    std::vector<Saved<T>> lifting;               // [step] the lifting's saved outputs
    std::vector<std::vector<Saved<T>>> inputs;   // [layer][step] layer inputs' saved outputs
    std::vector<std::vector<Tensor<T>>> states;  // [layer][step] h after the step
    // Without keep_all only the last frame and state of each layer are kept.
    TensorPool<T> pool;  // memory of earlier passes, reused

    // Starts a pass: moves every tensor into the pool.
    void reset(int batch, Mode mode, bool keep_all, int layers, int recompute = 0);
    // Whether the state after step t stays in the trace once later steps have run.
    bool keeps_state(int t) const {
        return keep_all && (recompute == 0 || (t + 1) % recompute == 0 || t == steps - 1);
    }
};

// The running sum of parameter gradients over the pipeline calls of one backward pass: each
// call writes its step's gradients into step(); accumulate() adds them to the sum, which
// alternates between the caller's gradients and a spare buffer (a pipeline never writes the
// buffer it reads); finish() leaves every sum in the caller's gradients.
template <typename T>
class GradientSum {
  public:
    GradientSum(const ModelLibrary &lib, Parameters<T> &grads);
    Parameters<T> &step() { return step_; }
    // Adds the gradients the call of `signature` wrote into step().
    void accumulate(const PipelineSignature &signature);
    void finish();

  private:
    void add(size_t i, Parameters<T> &addend);
    const ModelLibrary &lib_;
    Parameters<T> &grads_;
    Parameters<T> step_, spare_;
    std::vector<int> in_spare_;
};

template <typename T>
class Encoder {
  public:
    explicit Encoder(const ModelLibrary &lib) : lib_(lib), plan_(lib.plan()) {}

    // One step with input frame `frame` (moved into the trace). stats may be null when the
    // model has no BatchNorm; in training mode they move one step.
    void step(EncoderTrace<T> &trace, Tensor<T> frame, Parameters<T> &params,
              Statistics<T> *stats) const;

    // dL/dh of the top layer at step t is the carry from step t+1 plus the head's share:
    // `head(t, h, carry, total)`, given the top state h after step t, writes that sum into
    // total and returns true, or returns false when the head read nothing at step t (then the
    // carry is the total).
    using HeadGradient =
        std::function<bool(int t, Tensor<T> &h, Tensor<T> &carry, Tensor<T> &total)>;
    // BPTT over the trace (made in training mode with keep_all); adds into grads. With
    // recomputation the segments are run again, last first; BatchNorm's running statistics
    // do not move again.
    void backward(EncoderTrace<T> &trace, Parameters<T> &params, GradientSum<T> &grads,
                  const HeadGradient &head) const;

    // h of `layer` after steps first+1 .. first+count: (B, count, V, C, H, W).
    Array<T> states(EncoderTrace<T> &trace, int layer, int first, int count) const;

  private:
    // Computes step t from the states after step t-1 into the trace's slots t, keeping what
    // the backward reads when `save`.
    void run_step(EncoderTrace<T> &trace, int t, Parameters<T> &params, Statistics<T> *stats,
                  bool save) const;
    // The backward of step t: adds the step's parameter gradients, passes carry[l] (dL/dh
    // after step t, minus what the head adds) to dL/dh after step t-1.
    void backward_step(EncoderTrace<T> &trace, int t, Parameters<T> &params, GradientSum<T> &grads,
                       const HeadGradient &head, std::vector<Tensor<T>> &carry,
                       std::vector<Tensor<T>> &total) const;
    // Runs a conv stack's forward on `in`; returns its output, keeping what its backward
    // reads in `saved` where given.
    Tensor<T> stack_forward(EncoderTrace<T> &trace, int block, Tensor<T> &in, Parameters<T> &params,
                            Statistics<T> *stats, Saved<T> *saved) const;
    void stack_backward(EncoderTrace<T> &trace, int block, Tensor<T> &in, Saved<T> &saved,
                        Tensor<T> &d_out, Tensor<T> *d_in, Parameters<T> &params,
                        GradientSum<T> &grads) const;

    const ModelLibrary &lib_;
    const ModelPlan &plan_;
};

}  // namespace fernn
