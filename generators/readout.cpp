#include "generators/readout.h"

#include "generators/activation.h"
#include "generators/tensors.h"

namespace fernn::gen {

namespace {

std::string weight_arg(const Spec &spec, int layer) {
    return argument_name(spec.parameters()[2 + layer].name);
}

Func pool(const Spec &spec, const Func &h, Type type, Stages &stages) {
    const Dims &d = dims();
    const int nv = spec.num_velocities();
    // Explicit updates (not inline reductions) so the schedule can vectorize them.
    Func total("pooled");
    total(d.c, d.x, d.y, d.b) = h(d.c, d.x, d.y, 0, d.b);
    if (nv > 1) {
        RDom rv(1, nv - 1, "pool_rv");
        const Expr next = h(d.c, d.x, d.y, rv, d.b);
        const Expr acc = total(d.c, d.x, d.y, d.b);
        total(d.c, d.x, d.y, d.b) = spec.pool == "max" ? Halide::max(acc, next) : acc + next;
    }
    Func feat("feat");
    Expr value = total(d.c, d.x, d.y, d.b);
    if (spec.pool == "mean") value = value / Halide::cast(type, nv);
    feat(d.c, d.x, d.y, d.b) = value;
    stages.roots.push_back({total, RootStage::Frame, spec.hidden});
    stages.roots.push_back({feat, RootStage::Frame, spec.hidden});
    return feat;
}

// dL/dh through the pooling. Max sends the gradient to the first maximal copy only, like
// torch's h.max(1) whose indices point at the first maximum.
Func pool_backward(const Spec &spec, const Func &h, const Func &d_feat, const Func &carry,
                   Type type, Stages &stages) {
    const Dims &d = dims();
    const int nv = spec.num_velocities();
    Expr share = d_feat(d.c, d.x, d.y, d.b);
    if (spec.pool == "max") {
        Func best("max_index");
        best(d.c, d.x, d.y, d.b) = Halide::Tuple(0, h(d.c, d.x, d.y, 0, d.b));
        if (nv > 1) {
            RDom rv(1, nv - 1, "argmax_rv");
            const Expr candidate = h(d.c, d.x, d.y, rv, d.b);
            const Expr better = candidate > best(d.c, d.x, d.y, d.b)[1];
            best(d.c, d.x, d.y, d.b) =
                Halide::Tuple(Halide::select(better, rv, best(d.c, d.x, d.y, d.b)[0]),
                              Halide::select(better, candidate, best(d.c, d.x, d.y, d.b)[1]));
        }
        stages.roots.push_back({best, RootStage::Frame, spec.hidden});
        share = Halide::select(d.v == best(d.c, d.x, d.y, d.b)[0], share, Halide::cast(type, 0));
    } else if (spec.pool == "mean") {
        share = share / Halide::cast(type, nv);
    }
    Func d_h("d_h");
    d_h(d.c, d.x, d.y, d.v, d.b) = carry(d.c, d.x, d.y, d.v, d.b) + share;
    stages.roots.push_back({d_h, RootStage::Hidden, spec.hidden});
    return d_h;
}

}  // namespace

ReadoutForward readout_forward(const Spec &spec, const Func &h, const std::vector<Func> &weights,
                               Type type, Stages &stages) {
    const Dims &d = dims();
    const Frame frame{spec.width, spec.height};
    ReadoutForward out;
    out.feat = pool(spec, h, type, stages);
    Func prev = out.feat;
    for (int i = 0; i <= spec.dec_layers; ++i) {
        const bool last = i == spec.dec_layers;
        const std::string name = weight_arg(spec, i);
        Func packed = pack_weights(weights[i], name + "_packed");
        stages.roots.push_back(
            {packed, RootStage::Weights, last ? spec.out_channels : spec.hidden});
        Func padded = circular_pad(prev.name() + "_padded", prev, frame, false);
        ConvStage conv =
            correlate(name + "_conv", padded, padded, packed, spec.hidden,
                      last ? spec.out_channels : spec.hidden, spec.dec_kernel, false, type);
        Func owner(last ? "pred" : "act_" + std::to_string(i));
        const Expr value = conv.conv(d.c, d.x, d.y, d.b);
        owner(d.c, d.x, d.y, d.b) = last ? value : activate("relu", value);
        conv.owner = owner;
        stages.convs.push_back(conv);
        if (last) {
            out.pred = owner;
        } else {
            out.acts.push_back(owner);
        }
        prev = owner;
    }
    return out;
}

ReadoutBackward readout_backward(const Spec &spec, const Func &h, const Func &feat,
                                 const std::vector<Func> &acts, const Func &d_pred,
                                 const Func &d_h_carry, const std::vector<Func> &weights,
                                 const Expr &batch, Type type, Stages &stages) {
    const Dims &d = dims();
    const Frame frame{spec.width, spec.height};
    ReadoutBackward out;
    out.d_w.resize(spec.dec_layers + 1);
    Func d_out = d_pred;  // gradient at the output of layer i
    for (int i = spec.dec_layers; i >= 0; --i) {
        const bool last = i == spec.dec_layers;
        const int out_ch = last ? spec.out_channels : spec.hidden;
        const std::string name = weight_arg(spec, i);
        const Func input = i == 0 ? feat : acts[i - 1];
        Func input_padded = circular_pad(input.name() + "_padded", input, frame, false);
        WeightGradStage wg =
            weight_grad("grad_" + name, d_out, input_padded, input_padded, out_ch, spec.hidden,
                        spec.dec_kernel, frame, false, 0, batch, type);
        stages.weight_grads.push_back(wg);
        out.d_w[i] = wg.out;

        Func adjoint = adjoint_weights(pack_weights(weights[i], name + "_packed"), spec.dec_kernel,
                                       name + "_adjoint");
        stages.roots.push_back({adjoint, RootStage::Weights, spec.hidden});
        Func d_out_padded = circular_pad(d_out.name() + "_padded", d_out, frame, false);
        ConvStage conv = correlate(name + "_conv_t", d_out_padded, d_out_padded, adjoint, out_ch,
                                   spec.hidden, spec.dec_kernel, false, type);
        // The gradient at this layer's input; below layer 0 the input is the pooled feature,
        // otherwise it passes back through the previous layer's ReLU.
        Func d_in(i == 0 ? "d_feat" : "d_act_" + std::to_string(i - 1));
        Expr value = conv.conv(d.c, d.x, d.y, d.b);
        if (i > 0) value = value * activation_slope("relu", acts[i - 1](d.c, d.x, d.y, d.b));
        d_in(d.c, d.x, d.y, d.b) = value;
        conv.owner = d_in;
        stages.convs.push_back(conv);
        d_out = d_in;
    }
    out.d_h = pool_backward(spec, h, d_out, d_h_carry, type, stages);
    return out;
}

}  // namespace fernn::gen
