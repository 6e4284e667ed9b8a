// Pipeline inputs and outputs with their dense layouts declared to Halide. Declaring every
// extent and stride (all but the batch extent are fixed by the spec) lets Halide fold address
// arithmetic into constants; the runtime always passes dense buffers in these layouts.
#pragma once

#include "runtime/spec/spec.h"
#include "generators/layout.h"

namespace fernn::gen {

Halide::ImageParam frame_input(const std::string &name, Type type, int channels, const Shape &s);
Halide::ImageParam hidden_input(const std::string &name, Type type, const Shape &s);
Halide::ImageParam weight_input(const ParamInfo &param, Type type);

void constrain_frame_output(Func &f, int channels, const Shape &s);
void constrain_hidden_output(Func &f, const Shape &s);
void constrain_weight_output(Func &f, const ParamInfo &param);

Shape shape_of(const Spec &spec);

}  // namespace fernn::gen
