// The recurrence nonlinearity and its derivative written in terms of the activation's output,
// so the backward pass needs only the stored hidden states, never the pre-activations.
#pragma once

#include <string>

#include "generators/layout.h"

namespace fernn::gen {

Expr activate(const std::string &kind, const Expr &pre);
// d act / d pre, evaluated from out = act(pre). For relu this is (out > 0), as PyTorch's
// threshold_backward does: the gradient at exactly 0 is 0.
Expr activation_slope(const std::string &kind, const Expr &out);

}  // namespace fernn::gen
