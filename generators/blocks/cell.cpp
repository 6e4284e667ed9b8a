#include "generators/blocks/cell.h"

#include "generators/activation.h"
#include "generators/flows/flow.h"
#include "generators/steerable.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

RecurrentShape shape_of(const Spec &spec, const Block &block, const PipelineBuilder &b) {
    const RecurrentLayerSpec &layer = spec.recurrence.layers.at(block.layer);
    return RecurrentShape{layer.channels, layer.kernel,
                          spec.copies(),  Frame{spec.input.width, spec.input.height},
                          b.batch(),      b.type()};
}

std::unique_ptr<FlowModule> flow_of(const Spec &spec, const PipelineBuilder &b) {
    std::vector<Func> params;
    for (int p : b.plan().flow_params) params.push_back(b.param(p));
    return make_flow(spec.flow, params);
}

// The layer input at a point of the hidden state: broadcast over copies for layer 0.
Expr input_at(const Func &x, int layer) {
    const Dims &d = dims();
    return layer == 0 ? x(d.c, d.x, d.y, d.b) : x(d.c, d.x, d.y, d.v, d.b);
}

}  // namespace

void build_cell_forward(const Spec &spec, const Block &block, bool first, PipelineBuilder &b) {
    const Dims &d = dims();
    const RecurrentLayerSpec &layer = spec.recurrence.layers.at(block.layer);
    const Func x = b.in(arg::x);
    Func h_next(arg::h_next);
    if (first) {
        h_next(d.c, d.x, d.y, d.v, d.b) = activate(layer.activation, input_at(x, block.layer));
        b.stages().roots.push_back({h_next, RootStage::Hidden, layer.channels});
        b.out(h_next);
        return;
    }
    const RecurrentShape s = shape_of(spec, block, b);
    Func packed = pack_weights(conv_filter(b, block.conv_h, block.conv_h_steerable, "conv_h_filter"),
                               "conv_h_packed");
    b.stages().roots.push_back({packed, RootStage::Weights, s.channels});
    ConvStage rec = flow_of(spec, b)->recurrent(b.in(arg::h_prev), packed, s, b.stages());
    h_next(d.c, d.x, d.y, d.v, d.b) =
        activate(layer.activation, input_at(x, block.layer) + rec.conv(d.c, d.x, d.y, d.v, d.b));
    rec.owner = h_next;
    b.stages().convs.push_back(rec);
    b.out(h_next);
}

void build_cell_backward(const Spec &spec, const Block &block, bool first, PipelineBuilder &b) {
    const Dims &d = dims();
    const RecurrentLayerSpec &layer = spec.recurrence.layers.at(block.layer);
    // Layers above 0 read x per copy, so d_x is d_pre itself; layer 0's x was broadcast over
    // the copies, so its gradient sums over them.
    Func d_pre(block.layer == 0 ? "d_pre" : arg::d_x);
    d_pre(d.c, d.x, d.y, d.v, d.b) =
        b.in(arg::d_h_next)(d.c, d.x, d.y, d.v, d.b) *
        activation_slope(layer.activation, b.in(arg::h_next)(d.c, d.x, d.y, d.v, d.b));
    b.stages().roots.push_back({d_pre, RootStage::Hidden, layer.channels});
    if (block.layer == 0) {
        RDom rv(0, spec.copies(), "rv");
        Func d_x(arg::d_x);
        d_x(d.c, d.x, d.y, d.b) = Halide::cast(b.type(), 0);
        d_x(d.c, d.x, d.y, d.b) += d_pre(d.c, d.x, d.y, rv, d.b);
        b.stages().roots.push_back({d_x, RootStage::Frame, layer.channels});
        b.out(d_x);
    } else {
        b.out(d_pre);
    }
    if (first) return;

    const RecurrentShape s = shape_of(spec, block, b);
    Func packed = pack_weights(conv_filter(b, block.conv_h, block.conv_h_steerable, "conv_h_filter"),
                               "conv_h_packed");
    std::vector<std::string> flow_grads;
    for (int p : b.plan().flow_params) flow_grads.push_back(b.grad_name(p));
    FlowModule::Gradients g = flow_of(spec, b)->recurrent_backward(
        d_pre, b.in(arg::h_prev), packed, s,
        conv_filter_grad_name(b, block.conv_h, block.conv_h_steerable), flow_grads, b.stages());
    b.out(g.d_h_prev);
    b.out(conv_param_grad(b, block.conv_h, block.conv_h_steerable, g.d_w_h));
    for (Func &f : g.d_params) b.out(f);
}

}  // namespace fernn::gen
