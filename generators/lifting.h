// Lifting: the input convolution conv_u that maps a frame into hidden channels. It is computed
// once per frame and broadcast over the velocity copies (never |V| times).
#pragma once

#include "runtime/spec/spec.h"
#include "generators/conv.h"

namespace fernn::gen {

// a(c, x, y, b) = conv_u(u). Records the conv and its repacked weights in `stages`.
Func lift(const Spec &spec, const Func &u, const Func &w_u_oihw, Type type, Stages &stages);

// Gradient of conv_u's weight from g(c, x, y, b) = Σ_v dL/dpre(c, x, y, v, b).
Func lift_weight_grad(const Spec &spec, const Func &g, const Func &u, const Expr &batch, Type type,
                      Stages &stages);

}  // namespace fernn::gen
