#include "generators/recurrence.h"

#include <stdexcept>

#include "generators/activation.h"
#include "generators/tensors.h"

namespace fernn::gen {

Func cell_forward(const Spec &spec, const FlowModule &flow, const Func &u, const Func &h_prev,
                  const CellWeights &w, Type type, Stages &stages) {
    const Dims &d = dims();
    Func a = lift(spec, u, w.w_u, type, stages);
    if (!h_prev.defined()) {
        Func h_next("h_next");
        h_next(d.c, d.x, d.y, d.v, d.b) = activate(spec.activation, a(d.c, d.x, d.y, d.b));
        stages.roots.push_back({h_next, RootStage::Hidden, spec.hidden});
        return h_next;
    }
    Func packed = pack_weights(w.w_h, "conv_h_packed");
    stages.roots.push_back({packed, RootStage::Weights, spec.hidden});
    // The flow is folded into conv_h's indexing: move() stays inline, a constant offset per
    // velocity into the circularly extended state.
    Func padded = circular_pad("h_prev_padded", h_prev, {spec.width, spec.height}, true);
    ConvStage rec = correlate("conv_h", flow.move(padded), padded, packed, spec.hidden, spec.hidden,
                              spec.rec_kernel, true, type);
    Func h_next("h_next");
    h_next(d.c, d.x, d.y, d.v, d.b) =
        activate(spec.activation, a(d.c, d.x, d.y, d.b) + rec.conv(d.c, d.x, d.y, d.v, d.b));
    rec.owner = h_next;
    stages.convs.push_back(rec);
    return h_next;
}

CellGradients cell_backward(const Spec &spec, const FlowModule &flow, const Func &u,
                            const Func &h_prev, const Func &h_next, const Func &d_h_next,
                            const CellWeights &w, const Expr &batch, Type type, Stages &stages) {
    const Dims &d = dims();
    const Frame frame{spec.width, spec.height};
    Func d_pre("d_pre");
    d_pre(d.c, d.x, d.y, d.v, d.b) =
        d_h_next(d.c, d.x, d.y, d.v, d.b) *
        activation_slope(spec.activation, h_next(d.c, d.x, d.y, d.v, d.b));
    stages.roots.push_back({d_pre, RootStage::Hidden, spec.hidden});

    CellGradients grads;
    if (h_prev.defined()) {
        // d h_prev = move^T(conv_h^T(d_pre)). A translation commutes with a circular convolution,
        // so this equals conv_h^T(move^T(d_pre)) and the flow folds into the transposed conv's
        // indexing exactly as in the forward.
        if (!flow.commutes_with_convolution()) {
            throw std::logic_error(
                "cell_backward: flow modules that do not commute with the "
                "convolution need an explicit unmove stage");
        }
        Func packed = pack_weights(w.w_h, "conv_h_packed");
        Func adjoint = adjoint_weights(packed, spec.rec_kernel, "conv_h_adjoint");
        stages.roots.push_back({adjoint, RootStage::Weights, spec.hidden});
        Func d_pre_padded = circular_pad("d_pre_padded", d_pre, frame, true);
        ConvStage back = correlate("conv_h_t", flow.unmove(d_pre_padded), d_pre_padded, adjoint,
                                   spec.hidden, spec.hidden, spec.rec_kernel, true, type);
        grads.d_h_prev = Func("d_h_prev");
        grads.d_h_prev(d.c, d.x, d.y, d.v, d.b) = back.conv(d.c, d.x, d.y, d.v, d.b);
        back.owner = grads.d_h_prev;
        stages.convs.push_back(back);

        Func h_prev_padded = circular_pad("h_prev_padded", h_prev, frame, true);
        WeightGradStage wh =
            weight_grad("grad_" + argument_name("cell.conv_h.weight"), d_pre,
                        flow.move(h_prev_padded), h_prev_padded, spec.hidden, spec.hidden,
                        spec.rec_kernel, frame, true, spec.num_velocities(), batch, type);
        stages.weight_grads.push_back(wh);
        grads.d_w_h = wh.out;
    } else {
        Func zero("grad_" + argument_name("cell.conv_h.weight"));
        zero(d.kx, d.ky, d.ci, d.co) = Halide::cast(type, 0);
        grads.d_w_h = zero;
    }

    // conv_u(u) was broadcast over ν, so its gradient first sums over ν.
    RDom rv(0, spec.num_velocities(), "rv");
    Func g("d_lifted");
    g(d.c, d.x, d.y, d.b) = Halide::cast(type, 0);
    g(d.c, d.x, d.y, d.b) += d_pre(d.c, d.x, d.y, rv, d.b);
    stages.roots.push_back({g, RootStage::Frame, spec.hidden});
    grads.d_w_u = lift_weight_grad(spec, g, u, batch, type, stages);
    return grads;
}

}  // namespace fernn::gen
