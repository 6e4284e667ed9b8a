#include "generators/pipelines.h"

#include <array>

#include "generators/blocks/cell.h"
#include "generators/blocks/conv_stack.h"
#include "generators/heads/classes.h"
#include "generators/heads/frames.h"
#include "generators/optimizer_pipelines.h"
#include "generators/pipeline_builder.h"

namespace fernn::gen {

namespace {

using Build = void (*)(const Spec &, const Block &, PipelineBuilder &);
struct Entry {
    Op op;
    Build build;
};

// One builder per Op, in Op order; a new Op does not compile until it has one here.
constexpr std::array<Entry, kOpCount> kBuilders{{
    {Op::StackForward, [](const Spec &s, const Block &bl,
                          PipelineBuilder &b) { build_stack_forward(s, bl, true, b); }},
    {Op::StackForwardEval, [](const Spec &s, const Block &bl,
                              PipelineBuilder &b) { build_stack_forward(s, bl, false, b); }},
    {Op::StackBackward, build_stack_backward},
    {Op::CellForward, [](const Spec &s, const Block &bl,
                         PipelineBuilder &b) { build_cell_forward(s, bl, false, b); }},
    {Op::CellForwardFirst, [](const Spec &s, const Block &bl,
                              PipelineBuilder &b) { build_cell_forward(s, bl, true, b); }},
    {Op::CellBackward, [](const Spec &s, const Block &bl,
                          PipelineBuilder &b) { build_cell_backward(s, bl, false, b); }},
    {Op::CellBackwardFirst, [](const Spec &s, const Block &bl,
                               PipelineBuilder &b) { build_cell_backward(s, bl, true, b); }},
    {Op::ReadoutForward, build_readout_forward},
    {Op::ReadoutBackward, build_readout_backward},
    {Op::FrameLoss, build_frame_loss},
    {Op::FrameLossGradient, build_frame_loss_gradient},
    {Op::PoolForward, build_pool_forward},
    {Op::PoolBackward, build_pool_backward},
    {Op::ClassifierForward, build_classifier_forward},
    {Op::ClassifierBackward, build_classifier_backward},
    {Op::GradAccumulate, build_grad_accumulate},
    {Op::FillZero, build_fill_zero},
    {Op::OptimizerStep, build_optimizer_step},
}};

constexpr bool in_op_order() {
    for (size_t i = 0; i < kBuilders.size(); ++i)
        if (int(kBuilders[i].op) != int(i)) return false;
    return true;
}
static_assert(in_op_order(), "kBuilders lists every Op once, in Op order");

}  // namespace

PipelineDef build_pipeline(const Spec &spec, const ModelPlan &plan, Type type, int index,
                           const AlgorithmChoice &algorithms) {
    const PipelineSignature &signature = plan.pipelines.at(size_t(index));
    PipelineBuilder builder(plan, signature, type);
    builder.stages().algorithms = algorithms;
    kBuilders[size_t(signature.op)].build(spec, plan.blocks.at(size_t(signature.block)), builder);
    return builder.finish();
}

}  // namespace fernn::gen
