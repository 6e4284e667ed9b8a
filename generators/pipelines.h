// One Halide pipeline per signature of the model plan (runtime/plan/plan.h). The time loop
// lives in the runtime (BPTT over per-step pipelines) because Halide 14 differentiates time
// scans wrongly. Every pipeline is built from a fresh Func graph: schedules of one never touch
// another. The builders are one table indexed by Op (pipelines.cpp), checked complete at
// compile time.
#pragma once

#include <string>
#include <vector>

#include "generators/stages.h"
#include "runtime/plan/plan.h"

namespace fernn {

// Bump when the algorithm of any pipeline changes meaning or signature: it keys the compile
// cache and tells stale schedule records apart.
//   3: first-step pipelines; 4: pipelines from the model plan (lifting and layer inputs as
//   conv stacks of their own, stacked layers, BatchNorm, learned flows, the classes head);
//   5: float32 tanh in vectorizable arithmetic (generators/activation.cpp); 6: the heads'
//   backwards start from the gradient of the outputs (d_pred, d_logits), the MSE's gradient
//   in a pipeline of its own.
constexpr int kAlgorithmVersion = 6;

}  // namespace fernn

namespace fernn::gen {

struct PipelineDef {
    PipelineSignature signature;
    Geometry geometry;
    std::vector<Halide::Argument> args;  // the signature's inputs, in order
    std::vector<Func> funcs;             // the signature's outputs, in order
    // The parameter objects behind args, for running the pipeline JIT (fernn tune).
    std::vector<Halide::ImageParam> images;
    std::vector<Halide::Param<>> scalars;
    Stages stages;
    const std::string &name() const { return signature.name; }
};

// Builds pipeline `index` of the plan. Halide makes Func names unique per process ("h_next",
// then "h_next$1"), and output names are the library's argument names, so compile_model builds
// each pipeline in a fresh process.
// `algorithms`: how its correlations are computed (a schedule record's choice).
PipelineDef build_pipeline(const Spec &spec, const ModelPlan &plan, Type type, int index,
                           const AlgorithmChoice &algorithms = {});

}  // namespace fernn::gen
