// The training loss: mean squared error over all predicted frames, as nn.MSELoss().
// The runtime sums the per-frame squared errors and divides by the element count N; each
// frame's gradient is (2/N)·(pred − target), with 2/N passed in as `scale`.
#pragma once

#include "generators/stages.h"

namespace fernn::gen {

Func mse_gradient(const Func &pred, const Func &target, const Expr &scale);

// Σ (pred − target)² over one frame batch (c, x, y, b), as a 0-dimensional Func.
Func sum_squared_error(const Func &pred, const Func &target, int channels, int width, int height,
                       const Expr &batch, Type type, Stages &stages);

}  // namespace fernn::gen
