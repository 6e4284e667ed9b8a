// Flow modules: how each velocity copy of the hidden state is moved by its own flow ψ_1(ν)
// before the recurrent convolution. A flow group is one module registered by name; the
// recurrence, readout and runtime only see this interface.
#pragma once

#include <memory>

#include "runtime/spec/flow_spec.h"
#include "generators/layout.h"

namespace fernn::gen {

class FlowModule {
  public:
    virtual ~FlowModule() = default;
    // h(c, x, y, v, b) moved one step: each copy v by its own velocity. `h` is given on the
    // frame's circular extension (conv.h circular_pad) and the result is read up to reach()
    // pixels further out than h is; it is returned unscheduled, so it inlines into the
    // convolution's indexing (no moved copy is materialized).
    virtual Func move(const Func &h) const = 0;
    // The adjoint of move (its inverse: flows permute pixels), with the same conventions.
    virtual Func unmove(const Func &g) const = 0;
    // How many pixels one step moves a pixel at most.
    virtual int reach() const = 0;
    // True when move commutes with the model's circular convolutions, which lets the backward
    // fold unmove into the transposed convolution's input instead of its output.
    virtual bool commutes_with_convolution() const = 0;
};

std::unique_ptr<FlowModule> make_flow(const FlowSpec &spec);

}  // namespace fernn::gen
