#include "generators/flows/moved_state.h"

namespace fernn::gen {

ConvStage conv_of_moved(const Func &moved, const Func &packed, const RecurrentShape &s,
                        Padding padding, const AlgorithmChoice &choice) {
    Func padded = pad("moved_padded", moved, s.frame, true, padding);
    return correlate("conv_h", padded, padded, packed, s.channels, s.channels, s.kernel, true,
                     s.type, choice);
}

Func conv_h_transposed(const Func &d_pre, const Func &packed, const RecurrentShape &s,
                       Padding padding, Stages &stages) {
    const Dims &d = dims();
    Func adjoint = adjoint_weights(packed, s.kernel, "conv_h_adjoint");
    stages.roots.push_back({adjoint, RootStage::Weights, s.channels});
    Func d_pre_padded = pad("d_pre_padded", d_pre, s.frame, true, padding);
    ConvStage back = correlate("conv_h_t", d_pre_padded, d_pre_padded, adjoint, s.channels,
                               s.channels, s.kernel, true, s.type, stages.algorithms);
    Func d_moved("d_moved");
    d_moved(d.c, d.x, d.y, d.v, d.b) = back.conv(d.c, d.x, d.y, d.v, d.b);
    back.owner = d_moved;
    stages.convs.push_back(back);
    return d_moved;
}

Func conv_h_weight_grad(const std::string &name, const Func &d_pre, const Func &moved,
                        const RecurrentShape &s, Padding padding, Stages &stages) {
    Func moved_padded = pad("moved_padded", moved, s.frame, true, padding);
    WeightGradStage wh =
        weight_grad(name, d_pre, moved_padded, moved_padded, s.channels, s.channels, s.kernel,
                    s.frame, true, s.copies, s.batch, s.type, stages.algorithms);
    stages.weight_grads.push_back(wh);
    return wh.out;
}

}  // namespace fernn::gen
