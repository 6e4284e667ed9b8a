// Readout: pool the hidden state over the velocity copies (max | mean | sum), then the decoder
// `layers` × (conv k×k hidden→hidden + ReLU) and a final conv hidden→output channels; and the
// adjoint of all of it.
#pragma once

#include "runtime/spec/spec.h"
#include "generators/conv.h"

namespace fernn::gen {

struct ReadoutForward {
    Func feat;               // pooled hidden state (c, x, y, b)
    std::vector<Func> acts;  // each decoder layer's ReLU output (c, x, y, b)
    Func pred;               // predicted frame (c, x, y, b)
};

ReadoutForward readout_forward(const Spec &spec, const Func &h, const std::vector<Func> &weights,
                               Type type, Stages &stages);

struct ReadoutBackward {
    Func d_h;               // d_h_carry + dL/dh through the pooling
    std::vector<Func> d_w;  // one per decoder weight, OIHW
};

// feat and acts are the forward's saved outputs; d_pred is dL/dpred for this frame.
ReadoutBackward readout_backward(const Spec &spec, const Func &h, const Func &feat,
                                 const std::vector<Func> &acts, const Func &d_pred,
                                 const Func &d_h_carry, const std::vector<Func> &weights,
                                 const Expr &batch, Type type, Stages &stages);

}  // namespace fernn::gen
