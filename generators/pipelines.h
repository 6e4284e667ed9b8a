// The split of a spec into ahead-of-time pipelines. The time loop lives in the runtime (BPTT
// over per-step pipelines) because Halide 14 differentiates time scans wrongly:
//   cell_forward     u, h_prev, weights            -> h_next
//   cell_backward    u, h_prev, h_next, d_h_next   -> d_h_prev, grad_cell_*
//   cell_forward_first, cell_backward_first: the first step, from the zero state, without
//                    h_prev (and without d_h_prev): no convolution of zeros is computed
//   readout_forward  h, decoder weights            -> pred, feat, act_0..act_{L-1}
//   readout_backward h, feat, acts, pred, target,
//                    d_h_carry, grad_scale          -> d_h (= carry + readout's share),
//                    grad_decoder_*
//   frame_loss       pred, target                  -> sse (Σ squared error of one frame batch)
// Every pipeline is built from a fresh Func graph: schedules of one never touch another.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/spec.h"
#include "generators/stages.h"

namespace fernn {

// Bump when the algorithm of any pipeline changes meaning or signature: it keys the compile
// cache and tells stale schedule records apart.
constexpr int kAlgorithmVersion = 3;  // 3: first-step pipelines

}  // namespace fernn

namespace fernn::gen {

// What one pipeline argument or output holds, for the manifest and for the runtime's checks.
struct TensorDesc {
    std::string name;
    std::string kind;   // "frame" | "hidden" | "weight" | "scalar"
    int channels = 0;   // frames and hidden states
    std::string param;  // weights: the state_dict name
};

struct PipelineDef {
    std::string name;
    std::vector<TensorDesc> inputs, outputs;
    std::vector<Halide::Argument> args;  // same order as inputs
    std::vector<Func> funcs;             // same order as outputs
    // The parameter objects behind args, for running the pipeline JIT (fernn tune).
    std::vector<Halide::ImageParam> images;
    std::vector<Halide::Param<>> scalars;
    Stages stages;
};

// The pipelines of every model, in manifest order.
const std::vector<std::string> &pipeline_names();

// Builds one pipeline from a fresh Func graph. Halide makes Func names unique per process
// ("h_next", then "h_next$1"), and output names are the library's argument names, so
// compile_model builds each pipeline in a fresh process.
PipelineDef build_pipeline(const Spec &spec, Type type, const std::string &name);

}  // namespace fernn::gen
