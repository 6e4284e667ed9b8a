// The classes head (the reference FERNN_Classifier): pool the top layer's state over its
// copies, average over pixels, take the last step (or the mean over steps), apply a linear
// layer with bias; cross-entropy over the logits.
//   pool_forward        h -> feat (B, C): the copies pooled, then the spatial mean
//   pool_backward       h, d_feat, d_h_carry -> d_h (= carry + the pooling's share)
//   classifier_forward  feat_sum (B, C), time_scale -> logits (B, K)
//                       (feat_sum: one step's feat, or the sum over steps with time_scale 1/T)
//   classifier_backward feat_sum, logits, labels, time_scale, loss_scale
//                       -> d_feat (what each step's feat receives), grads of fc.weight, fc.bias
// The loss is mean cross-entropy: d logits = loss_scale · (softmax(logits) − onehot(label)),
// loss_scale = 1/B. The loss value itself the runtime takes from the logits.
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_pool_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_pool_backward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_classifier_forward(const Spec &spec, const Block &block, PipelineBuilder &b);
void build_classifier_backward(const Spec &spec, const Block &block, PipelineBuilder &b);

}  // namespace fernn::gen
