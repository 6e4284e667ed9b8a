// Conv stacks: the lifting (on each frame) and a recurrent layer's input conv (on layer l-1's
// state, per copy). Each layer is conv (no bias) → optional BatchNorm2d → activation, as the
// reference's nn.Sequential blocks, with PyTorch's BatchNorm semantics (eps 1e-5, momentum
// 0.1): in training mode each call normalizes with its batch statistics (biased variance;
// over batch × pixels, and × copies above layer 0) and moves the running estimates (unbiased
// variance); in evaluation mode the running estimates normalize.
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

constexpr double kBatchNormEps = 1e-5, kBatchNormMomentum = 0.1;

// The block's layers as the spec lists them (the lifting, or one layer input).
std::vector<ConvLayerSpec> stack_layers(const Spec &spec, const Block &block);

void build_stack_forward(const Spec &spec, const Block &block, bool train, PipelineBuilder &b);
void build_stack_backward(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
