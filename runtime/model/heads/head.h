// A head reads the top recurrent layer: it owns its pipelines, its loss and its part of the
// time loop (what each step is fed, after which steps it reads the state). One class per
// readout kind in this folder, one entry in make_head's table (registry.cpp).
#pragma once

#include <memory>

#include "runtime/model/trace.h"

namespace fernn {

template <typename T>
class Head {
  public:
    Head(const ModelLibrary &lib, const Encoder<T> &encoder) : lib_(lib), encoder_(encoder) {}
    virtual ~Head() = default;

    // Runs the encoder over the inputs (B, T_in, C, H, W) and the head's own pipelines.
    virtual void forward(Parameters<T> &params, Statistics<T> *stats, const ArrayView<T> &inputs,
                         const Options<T> &o, Trace<T> &trace) const = 0;
    // The built-in loss against targets; leaves its gradient with respect to the head's
    // outputs in the trace, where backward starts.
    virtual double loss_gradient(Trace<T> &trace, const Targets<T> &targets) const = 0;
    // The same from a caller's loss: dL/d(outputs), shaped as the outputs (frames: (B, T_out,
    // C, H, W); classes: (B, K)). Throws InputError on another shape.
    virtual void set_output_gradient(Trace<T> &trace, const ArrayView<T> &gradient) const = 0;
    // BPTT from the trace's output gradient: the head's gradients and its share of dL/dh at
    // each step, passed to the encoder.
    virtual void backward(Parameters<T> &params, Trace<T> &trace, GradientSum<T> &grads) const = 0;

  protected:
    const Spec &spec() const { return lib_.spec(); }
    const ModelPlan &plan() const { return lib_.plan(); }
    // Throws InputError unless `a` is (B >= 1, frames, C, H, W) (frames < 0: any T >= 1).
    void check_sequence(const ArrayView<T> &a, const char *what, int frames) const;
    // (B,T,C,H,W)[:, t] in the pipelines' frame layout, on the device.
    Tensor<T> frame_at(const ArrayView<T> &seq, int t, TensorPool<T> &pool) const;

    const ModelLibrary &lib_;
    const Encoder<T> &encoder_;
};

template <typename T>
std::unique_ptr<Head<T>> make_head(const ModelLibrary &lib, const Encoder<T> &encoder);

}  // namespace fernn
