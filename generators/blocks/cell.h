// The recurrent cell of layer l: h_next(v) = act(x(v) + conv_h(move_v(h_prev(v)))) for every
// copy v, conv_h shared over copies, x the layer's input (the lifted frame broadcast over the
// copies for layer 0, the input conv of layer l-1's state per copy above); and its adjoint.
// From the zero state (the *_first pipelines) conv_h of zeros is never computed.
#pragma once

#include "generators/pipeline_builder.h"

namespace fernn::gen {

void build_cell_forward(const Spec &spec, const Block &block, bool first, PipelineBuilder &b);
void build_cell_backward(const Spec &spec, const Block &block, bool first, PipelineBuilder &b);

}  // namespace fernn::gen
