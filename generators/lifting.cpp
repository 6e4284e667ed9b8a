#include "generators/lifting.h"

#include "generators/tensors.h"

namespace fernn::gen {

Func lift(const Spec &spec, const Func &u, const Func &w_u_oihw, Type type, Stages &stages) {
    const Dims &d = dims();
    Func packed = pack_weights(w_u_oihw, "conv_u_packed");
    stages.roots.push_back({packed, RootStage::Weights, spec.hidden});
    Func padded = circular_pad("u_padded", u, {spec.width, spec.height}, false);
    ConvStage stage = correlate("conv_u", padded, padded, packed, spec.in_channels, spec.hidden,
                                spec.lift_kernel, false, type);
    Func a("lifted");
    a(d.c, d.x, d.y, d.b) = stage.conv(d.c, d.x, d.y, d.b);
    stage.owner = a;
    stages.convs.push_back(stage);
    return a;
}

Func lift_weight_grad(const Spec &spec, const Func &g, const Func &u, const Expr &batch, Type type,
                      Stages &stages) {
    Func padded = circular_pad("u_padded", u, {spec.width, spec.height}, false);
    WeightGradStage stage = weight_grad("grad_" + argument_name("cell.conv_u.weight"), g, padded,
                                        padded, spec.hidden, spec.in_channels, spec.lift_kernel,
                                        {spec.width, spec.height}, false, 0, batch, type);
    stages.weight_grads.push_back(stage);
    return stage.out;
}

}  // namespace fernn::gen
