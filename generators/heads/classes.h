// The classes head (the reference FERNN_Classifier): pool the top layer's state over its
// copies, average over pixels, take the last step (or the mean over steps), apply a linear
// layer with bias; cross-entropy over the logits.
//   pool_forward        h -> feat (B, C): the copies pooled, then the spatial mean
//   pool_backward       h, d_feat, d_h_carry -> d_h (= carry + the pooling's share)
//   classifier_forward  feat_sum (B, C), time_scale -> logits (B, K)
//                       (feat_sum: one step's feat, or the sum over steps with time_scale 1/T)
//   classifier_backward feat_sum, d_logits, time_scale
//                       -> d_feat (what each step's feat receives), grads of fc.weight, fc.bias
// The backward starts from d_logits, the gradient of any loss: the runtime computes the
// built-in mean cross-entropy's, (softmax(logits) − onehot(label)) / B, from the logits it
// reads back for the loss value; the C API takes a caller's.
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_pool_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_pool_backward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_classifier_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_classifier_backward(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
