// The frames head (the reference Seq2SeqFERNN's decoder): pool the top layer's state over its
// copies (max | mean | sum), then `layers` × (conv k×k + ReLU) and a final conv to the frame's
// channels; the mean squared error of the predicted frames; and the adjoints.
//   readout_forward   h -> pred, feat (the pooled state), act_i (each decoder layer's output)
//   readout_backward  h, feat, act_i, pred, target, d_h_carry, grad_scale -> d_h, decoder grads
//   frame_loss        pred, target -> sse (Σ squared error of one frame batch)
// The runtime sums the frames' squared errors and divides by the element count N; each
// frame's gradient is (2/N)·(pred − target), with 2/N passed in as grad_scale.
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_readout_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_readout_backward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_frame_loss(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
