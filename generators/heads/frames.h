// The frames head (the reference Seq2SeqFERNN's decoder): pool the top layer's state over its
// copies (max | mean | sum), then `layers` × (conv k×k + ReLU) and a final conv to the frame's
// channels; the mean squared error of the predicted frames; and the adjoints.
//   readout_forward   h -> pred, feat (the pooled state), act_i (each decoder layer's output)
//   readout_backward  h, feat, act_i, d_pred, d_h_carry -> d_h, decoder grads
//   frame_loss        pred, target -> sse (Σ squared error of one frame batch)
//   frame_loss_gradient pred, target, grad_scale -> d_pred = grad_scale · (pred − target)
// The runtime sums the frames' squared errors and divides by the element count N; the MSE's
// gradient per frame is (2/N)·(pred − target), with 2/N passed in as grad_scale. The readout's
// backward starts from d_pred whatever loss produced it (the C API takes a caller's).
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_readout_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_readout_backward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_frame_loss(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_frame_loss_gradient(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
