#include "generators/heads/frames.h"

#include "generators/activation.h"
#include "generators/conv.h"
#include "generators/heads/pooling.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

std::string weight_arg(const PipelineBuilder &b, const Block &block, int layer) {
    return b.plan().params[block.params.at(layer)].argument();
}

}  // namespace

void build_readout_forward(const Spec &spec, const Block &block, PipelineBuilder &b) {
    const Dims &d = dims();
    const FramesReadout &r = spec.readout.frames;
    const int channels = spec.top_channels();
    const Frame frame{spec.input.width, spec.input.height};
    // The decoder pads like the flow's boundary (circular on the torus, zeros for rotations).
    const Padding padding = padding_from(spec.flow.boundary);
    Stages &stages = b.stages();
    Func prev =
        pool_copies(arg::feat, r.pool, b.in(arg::h), spec.copies(), channels, b.type(), stages);
    b.out(prev);
    for (int i = 0; i <= r.decoder_layers; ++i) {
        const bool last = i == r.decoder_layers;
        const int out_channels = last ? r.channels : channels;
        const std::string name = weight_arg(b, block, i);
        Func packed = pack_weights(b.param(block.params[i]), name + "_packed");
        stages.roots.push_back({packed, RootStage::Weights, out_channels});
        Func padded = pad(prev.name() + "_padded", prev, frame, false, padding);
        ConvStage conv = correlate(name + "_conv", padded, padded, packed, channels, out_channels,
                                   r.decoder_kernel, false, b.type(), b.stages().algorithms);
        Func owner(last ? arg::pred : arg::decoder_act(i));
        const Expr value = conv.conv(d.c, d.x, d.y, d.b);
        owner(d.c, d.x, d.y, d.b) = last ? value : activate("relu", value);
        conv.owner = owner;
        stages.convs.push_back(conv);
        b.out(owner);
        prev = owner;
    }
}

void build_readout_backward(const Spec &spec, const Block &block, PipelineBuilder &b) {
    const Dims &d = dims();
    const FramesReadout &r = spec.readout.frames;
    const int channels = spec.top_channels();
    const Frame frame{spec.input.width, spec.input.height};
    const Padding padding = padding_from(spec.flow.boundary);
    Stages &stages = b.stages();
    Func d_out = b.in(arg::d_pred);  // gradient at the output of layer i
    for (int i = r.decoder_layers; i >= 0; --i) {
        const bool last = i == r.decoder_layers;
        const int out_channels = last ? r.channels : channels;
        const std::string name = weight_arg(b, block, i);
        const Func input = i == 0 ? b.in(arg::feat) : b.in(arg::decoder_act(i - 1));
        Func input_padded = pad(input.name() + "_padded", input, frame, false, padding);
        WeightGradStage wg = weight_grad(b.grad_name(block.params[i]), d_out, input_padded,
                                         input_padded, out_channels, channels, r.decoder_kernel,
                                         frame, false, 0, b.batch(), b.type(), stages.algorithms);
        stages.weight_grads.push_back(wg);
        b.out(wg.out);

        Func adjoint = adjoint_weights(pack_weights(b.param(block.params[i]), name + "_packed"),
                                       r.decoder_kernel, name + "_adjoint");
        stages.roots.push_back({adjoint, RootStage::Weights, channels});
        Func d_out_padded = pad(d_out.name() + "_padded", d_out, frame, false, padding);
        ConvStage conv =
            correlate(name + "_conv_t", d_out_padded, d_out_padded, adjoint, out_channels, channels,
                      r.decoder_kernel, false, b.type(), b.stages().algorithms);
        // The gradient at this layer's input; below layer 0 the input is the pooled state,
        // otherwise it passes back through the previous layer's ReLU.
        Func d_in(i == 0 ? "d_feat" : "d_act_" + std::to_string(i - 1));
        Expr value = conv.conv(d.c, d.x, d.y, d.b);
        if (i > 0) value = value * activation_slope("relu", input(d.c, d.x, d.y, d.b));
        d_in(d.c, d.x, d.y, d.b) = value;
        conv.owner = d_in;
        stages.convs.push_back(conv);
        d_out = d_in;
    }
    b.out(unpool_copies(arg::d_h, r.pool, b.in(arg::h), d_out, b.in(arg::d_h_carry), spec.copies(),
                        channels, b.type(), stages));
}

void build_frame_loss(const Spec &spec, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    const int channels = spec.readout.frames.channels;
    const Func pred = b.in(arg::pred), target = b.in(arg::target);
    // Rows first, then their total: the row sums vectorize and parallelize, and summing in
    // two levels keeps float32 rounding small for large batches.
    RDom rc(0, channels, 0, spec.input.width, "sse_rc");
    Func rows("sse_rows");
    const Expr diff = pred(rc.x, rc.y, d.y, d.b) - target(rc.x, rc.y, d.y, d.b);
    rows(d.y, d.b) = Halide::cast(b.type(), 0);
    rows(d.y, d.b) += diff * diff;
    b.stages().roots.push_back({rows, RootStage::Scalar, 0});
    RDom rr(0, spec.input.height, 0, b.batch(), "sse_rr");
    Func sse(arg::sse);
    sse() = Halide::cast(b.type(), 0);
    sse() += rows(rr.x, rr.y);
    b.out(sse);
}

void build_frame_loss_gradient(const Spec &spec, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    Func d_pred(arg::d_pred);
    d_pred(d.c, d.x, d.y, d.b) =
        b.scalar(arg::grad_scale) *
        (b.in(arg::pred)(d.c, d.x, d.y, d.b) - b.in(arg::target)(d.c, d.x, d.y, d.b));
    b.stages().roots.push_back({d_pred, RootStage::Frame, spec.readout.frames.channels});
    b.out(d_pred);
}

}  // namespace fernn::gen
