// The optimizer as pipelines over the contiguous parameter buffer (any length N), so that on
// a GPU parameters, gradients and Adam's moments never leave the device:
//   grad_accumulate  acc(N), step(N)                         -> sum(N)
//   fill_zero                                                -> zeros(N) (device memory is
//                                                               zeroed where it lives)
//   optimizer_step   params, grads, m, v (N each), and
//                    step_size, bias_correction2_sqrt,
//                    beta1, 1-beta1, beta2, 1-beta2, eps,
//                    max_norm (float64)                      -> params_next, m_next, v_next,
//                                                               grad_norm (float64 scalar)
// optimizer_step is torch.nn.utils.clip_grad_norm_ (max_norm > 0) followed by torch.optim.Adam,
// operation for operation (tests/optimizer_torch.py checks it against PyTorch). Their
// signatures are the plan's (runtime/plan/plan.cpp, the optimizer block).
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_grad_accumulate(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_fill_zero(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_optimizer_step(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
