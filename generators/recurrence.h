// The FERNN cell: h_next(ν) = act(conv_u(u) + conv_h(ψ_1(ν) · h_prev(ν))) for every velocity
// copy ν, with conv_h shared over ν; and its hand-derived adjoint.
#pragma once

#include "generators/flow.h"
#include "generators/lifting.h"

namespace fernn::gen {

struct CellWeights {
    Func w_u, w_h;  // OIHW inputs
};

// An undefined h_prev means the zero initial state: then h_next = act(conv_u(u)) in every
// copy, and conv_h (of zeros) is not computed.
Func cell_forward(const Spec &spec, const FlowModule &flow, const Func &u, const Func &h_prev,
                  const CellWeights &w, Type type, Stages &stages);

struct CellGradients {
    Func d_h_prev, d_w_u, d_w_h;
};

// Given dL/dh_next, the gradients for h_prev and both weights. The pre-activation is not
// needed: the activation's slope is read off h_next. With h_prev undefined (the zero initial
// state) there is no d_h_prev and conv_h's gradient is zero.
CellGradients cell_backward(const Spec &spec, const FlowModule &flow, const Func &u,
                            const Func &h_prev, const Func &h_next, const Func &d_h_next,
                            const CellWeights &w, const Expr &batch, Type type, Stages &stages);

}  // namespace fernn::gen
