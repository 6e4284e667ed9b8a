// The recurrent convolution of flows that materialize the moved state (learned filters,
// rotations): conv_h over moved(h_prev), its input adjoint and its weight gradient, with the
// frame edge padded as the flow's boundary says. Translations fold their shift into conv_h's
// indexing instead (translation.cpp).
#pragma once

#include "generators/flows/flow.h"

namespace fernn::gen {

// conv_h(moved): the ConvStage "conv_h" whose owner the caller sets.
ConvStage conv_of_moved(const Func &moved, const Func &packed, const RecurrentShape &s,
                        Padding padding, const AlgorithmChoice &choice);

// d_moved = conv_h^T(d_pre), materialized (its conv stage recorded in `stages`).
Func conv_h_transposed(const Func &d_pre, const Func &packed, const RecurrentShape &s,
                       Padding padding, Stages &stages);

// conv_h's weight gradient (OIHW, named `name`) from d_pre and the moved state.
Func conv_h_weight_grad(const std::string &name, const Func &d_pre, const Func &moved,
                        const RecurrentShape &s, Padding padding, Stages &stages);

}  // namespace fernn::gen
