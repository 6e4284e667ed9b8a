// Index conventions shared by every generator and schedule.
//
// Halide lists dimensions innermost first. fernn keeps channels innermost so that the
// convolutions vectorize over output channels (contiguous in memory) on the CPU and coalesce
// over them on the GPU:
//   frames, decoder features  f(c, x, y, b)      ~ C order [b][y][x][c]
//   hidden state              h(c, x, y, v, b)   ~ C order [b][v][y][x][c]
//   weights (pipeline inputs and gradient outputs) in PyTorch OIHW: w(kx, ky, ci, co)
// The runtime converts user tensors ((B, T, C, H, W) .npy) at the boundary.
#pragma once

#include <string>
#include <vector>

#include "Halide.h"

namespace fernn::gen {

using Halide::Expr;
using Halide::Func;
using Halide::RDom;
using Halide::Type;
using Halide::Var;

// One set of Vars for the whole library: schedules refer to them by these objects.
struct Dims {
    Var c{"c"}, x{"x"}, y{"y"}, v{"v"}, b{"b"};
    Var kx{"kx"}, ky{"ky"}, ci{"ci"}, co{"co"};
};
const Dims &dims();

// Sizes fixed by the spec; batch stays a run-time extent.
struct Shape {
    int in_channels, hidden, out_channels, height, width, velocities;
};

}  // namespace fernn::gen
