// The weights of a conv as its pipelines use them: a dense OIHW filter. For a plain conv that
// is the parameter itself; for a C_N-steerable conv (escnn's R2Conv, rotation flows) it is the
// expansion of its `weights` in its sampled basis (runtime/groups/cyclic_basis.h), and the
// parameter's gradient is the dense filter's gradient contracted with the same basis:
//   filter(kx, ky, c·I + b, o·N + a) = Σ_e weights((o·F_in + c)·E + e) · basis(ky·k + kx, b, a, e)
//   d_weights((o·F_in + c)·E + e)     = Σ_{a,b,kx,ky} d_filter(kx, ky, c·I + b, o·N + a) · basis(...)
// Both are computed once per pipeline call (small next to the convolutions they feed).
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

// The dense filter w(kx, ky, ci, co) of the conv whose weight is plan parameter `param`.
Func conv_filter(PipelineBuilder &b, int param, const SteerableConv &steerable,
                 const std::string &name);

// The name the dense filter gradient of that conv must carry: the parameter's gradient
// output for a plain conv, an intermediate for a steerable one.
std::string conv_filter_grad_name(const PipelineBuilder &b, int param,
                                  const SteerableConv &steerable);

// The parameter's gradient from the dense filter gradient `d_filter` (named as above), to
// be given to b.out: `d_filter` itself for a plain conv, its contraction for a steerable one.
Func conv_param_grad(PipelineBuilder &b, int param, const SteerableConv &steerable,
                     const Func &d_filter);

}  // namespace fernn::gen
