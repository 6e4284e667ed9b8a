// The model plan: what a normalized spec means as blocks, tensors and pipelines, without
// Halide. Everything downstream reads it:
//   - generators build exactly the declared pipeline signatures (checked at compile time),
//   - the runtime binds arguments and allocates buffers by it,
//   - checkpoints list its parameters, buffers and constants, the manifest records all of it.
// Blocks, in the order a step runs them:
//   lifting          conv stack on each frame (conv, optional BatchNorm, activation)
//   layer l input    l >= 1: conv stack on layer l-1's new state, per copy
//   layer l cell     h_l[v] = act(x_l[v] + conv_h_l(move_v(h_l[v])))
//   head             frames (decoder + MSE) or classes (pooling + linear + cross-entropy)
//   optimizer        gradient sums, zero fills, clipping + Adam over flat buffers
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/plan/tensor_type.h"
#include "runtime/spec/spec.h"

namespace fernn {

// Pipeline operations. Every table indexed by Op (names, generators) is checked against
// kOpCount at compile time, so adding an op fails to build until each table has it.
enum class Op : int {
    StackForward,      // a conv stack in training mode (BatchNorm batch statistics)
    StackForwardEval,  // ... with BatchNorm's running statistics, saving nothing
    StackBackward,
    CellForward,
    CellForwardFirst,  // from the zero state: no h_prev, no convolution of zeros
    CellBackward,
    CellBackwardFirst,
    ReadoutForward,  // frames head
    ReadoutBackward,
    FrameLoss,
    FrameLossGradient,  // the built-in MSE's gradient: what readout_backward starts from
    PoolForward,  // classes head
    PoolBackward,
    ClassifierForward,
    ClassifierBackward,
    GradAccumulate,  // optimizer
    FillZero,
    OptimizerStep,
};
constexpr int kOpCount = 18;
const char *op_name(Op op);

enum class BlockKind { Lifting, LayerInput, Cell, Head, Optimizer };

// How a parameter starts, as PyTorch initializes the module it belongs to.
struct Init {
    enum Kind { Uniform, Normal, Constant } kind = Constant;
    double scale = 0;  // Uniform: bound; Normal: std; Constant: the value
    // Where not empty, value i is also scaled by element_scale[i % size] (escnn's He
    // initialization of steerable weights: one std per basis element).
    std::vector<double> element_scale;
};

// Offsets of tensors in flat buffers are multiples of this many elements (128 bytes of
// float32): pipelines read and write their views with aligned vector loads and stores.
constexpr int64_t kTensorAlignment = 32;

// A learnable tensor, named and shaped as in the reference state_dict; `offset` into the one
// flat parameter buffer (gradients and Adam's moments share the layout).
struct ParamInfo {
    std::string name;
    std::vector<int64_t> shape;
    Init init;
    int64_t offset = 0;
    int64_t numel() const;
    std::string argument() const;  // its pipeline argument name
};

// A float state tensor that is not learned (BatchNorm running statistics), in its own flat
// buffer; int64 counters (num_batches_tracked) are kept by the runtime; constants are
// tensors a spec fixes (the reference's shift kernels), written into checkpoints so that they
// load into the reference model strictly.
struct BufferInfo {
    std::string name;
    std::vector<int64_t> shape;
    Init init;
    int64_t offset = 0;
    int64_t numel() const;
    std::string argument() const;
};
struct ConstantInfo {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;
    int64_t offset = 0;  // into the flat constants buffer that pipelines read
    // How far a checkpoint's copy may differ from `values` (escnn samples its filter basis in
    // float32; fernn computes it in float64); 0: exactly.
    double tolerance = 0;
    int64_t numel() const;
    std::string argument() const;
};

// A tensor that checkpoints carry for the reference but that fernn derives from a parameter:
// escnn's expanded `filter` of a steerable conv, (fields_out·N, fields_in·in, k, k), computed
// from its `weights` (param) and sampled basis (constant) when a checkpoint is written, and not
// read back (it is recomputed).
struct DerivedInfo {
    std::string name;
    std::vector<int64_t> shape;
    int param = -1, basis = -1;
    int fields_out = 0, fields_in = 0;
};

// A steerable conv's parameterization: its weights are coefficients of `basis` (a constant,
// (elements, N, in, k·k)); its dense filter is the expansion (cyclic_basis.h).
struct SteerableConv {
    int basis = -1;  // constant index
    int fields_out = 0, fields_in = 0;
};

// Where a pipeline argument comes from.
enum class Source { Data, Param, Grad, Buffer, BufferNext, Constant };

struct Argument {
    std::string name;
    TensorType type;
    Source source = Source::Data;
    int index = -1;  // Param/Grad: parameter index; Buffer/BufferNext: buffer index;
                     // Constant: constant index
    json to_json() const;
};

struct PipelineSignature {
    std::string name;
    Op op;
    int block = -1;
    std::vector<Argument> inputs, outputs;
    const Argument *find_input(const std::string &name) const;
    const Argument *find_output(const std::string &name) const;
    json to_json() const;
};

// One conv layer of a stack: its parameter and buffer indices (-1 where absent).
struct ConvLayerPlan {
    int weight = -1, bn_weight = -1, bn_bias = -1;
    int running_mean = -1, running_var = -1, counter = -1;
    SteerableConv steerable;  // basis -1: a plain conv whose weight is the dense filter
};

struct Block {
    BlockKind kind;
    int layer = -1;  // LayerInput, Cell
    std::string name;
    std::vector<int> params, buffers, pipelines;
    std::vector<ConvLayerPlan> convs;  // Lifting, LayerInput
    int conv_h = -1;                   // Cell
    SteerableConv conv_h_steerable;    // Cell, steerable flows
    // Op -> pipeline index, -1 where the block has no such pipeline.
    std::vector<int> by_op = std::vector<int>(kOpCount, -1);
};

struct ModelPlan {
    Geometry geometry;
    std::vector<ParamInfo> params;
    std::vector<BufferInfo> buffers;
    std::vector<std::string> counters;  // num_batches_tracked names, one per BatchNorm
    std::vector<ConstantInfo> constants;
    std::vector<DerivedInfo> derived;
    std::vector<int> flow_params;  // parameters of the flow, read by every cell
    std::vector<Block> blocks;
    std::vector<PipelineSignature> pipelines;
    int lifting = -1, head = -1, optimizer = -1;
    std::vector<int> layer_inputs, cells;  // block index per layer (-1: layer 0 has no input)

    // Elements of the flat parameter (and gradient, moment) buffer, and of the statistics
    // buffer: each tensor starts on a kTensorAlignment boundary (padding stays zero).
    int64_t params_size() const;
    int64_t buffers_size() const;
    int64_t constants_size() const;
    // Learnable values, without padding.
    int64_t parameter_count() const;
    // The block's pipeline for op; throws std::logic_error when it has none.
    const PipelineSignature &pipeline(int block, Op op) const;
    bool has(int block, Op op) const;
    const PipelineSignature &pipeline(const std::string &name) const;
    json to_json() const;
};

// The plan of a (validated) spec.
ModelPlan build_plan(const Spec &spec);

// "cell.conv_h.weight" -> "cell_conv_h_weight": pipeline arguments must be C identifiers.
std::string argument_name(const std::string &tensor_name);

}  // namespace fernn
