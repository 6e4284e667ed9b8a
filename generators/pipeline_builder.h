// Declares a pipeline's Halide arguments exactly as its plan signature lists them, hands the
// generator its inputs by name or parameter index, and takes its outputs, checking that every
// declared output is defined once under its declared name (the library's argument names are
// the output Funcs' names). Dense layouts with every fixed extent and stride declared, so
// Halide folds address arithmetic into constants; the runtime passes dense buffers.
#pragma once

#include <map>

#include "generators/pipelines.h"

namespace fernn::gen {

class PipelineBuilder {
  public:
    PipelineBuilder(const ModelPlan &plan, const PipelineSignature &signature, Type type);

    // A data input by argument name (runtime/plan/arguments.h).
    Func in(const std::string &name) const;
    // A scalar input by name.
    Expr scalar(const std::string &name) const;
    // The parameter / BatchNorm buffer with this plan index.
    Func param(int index) const;
    Func buffer(int index) const;
    // The plan constant with this index (a steerable conv's basis).
    Func constant(int index) const;
    // The run-time batch: the last extent of the first batched input.
    Expr batch() const;
    // Extent of dimension `dim` of a data input (e.g. a flat buffer's length).
    Expr extent(const std::string &name, int dim) const;

    // Names the output Funcs must carry.
    std::string grad_name(int param) const;
    std::string buffer_next_name(int buffer) const;

    // Outputs: `f` must be named as the output it defines.
    void out(Func f);

    Stages &stages() { return def_.stages; }
    const ModelPlan &plan() const { return plan_; }
    Type type() const { return type_; }
    // Checks every declared output was given; returns the pipeline in signature order.
    PipelineDef finish();

  private:
    const Argument &find(Source source, int index) const;

    const ModelPlan &plan_;
    Type type_;
    PipelineDef def_;
    std::map<std::string, Halide::ImageParam> inputs_;
    std::map<std::string, Expr> scalars_;
    std::map<std::string, Func> outputs_;
    Expr batch_;
};

}  // namespace fernn::gen
