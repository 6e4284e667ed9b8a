#include "generators/steerable.h"

namespace fernn::gen {

namespace {

// The sizes a steerable conv's basis constant (E, N, I, k·k) fixes.
struct BasisShape {
    int elements, out_size, in_size, kernel;
};
BasisShape basis_shape(const PipelineBuilder &b, const SteerableConv &s) {
    const auto &shape = b.plan().constants.at(s.basis).shape;
    int kernel = 1;
    while (kernel * kernel < shape[3]) ++kernel;
    return {int(shape[0]), int(shape[1]), int(shape[2]), kernel};
}

}  // namespace

Func conv_filter(PipelineBuilder &b, int param, const SteerableConv &s, const std::string &name) {
    if (s.basis < 0) return b.param(param);
    const Dims &d = dims();
    const BasisShape k = basis_shape(b, s);
    const Func weights = b.param(param), basis = b.constant(s.basis);
    RDom e(0, k.elements, name + "_e");
    // (co, ci, kx, ky) with output channels innermost, as the convolutions' packed weights.
    Func acc(name + "_acc");
    const Expr o = d.co / k.out_size, a = d.co % k.out_size;
    const Expr c = d.ci / k.in_size, i = d.ci % k.in_size;
    acc(d.co, d.ci, d.kx, d.ky) = Halide::cast(b.type(), 0);
    acc(d.co, d.ci, d.kx, d.ky) += weights((o * s.fields_in + c) * k.elements + e) *
                                   basis(d.ky * k.kernel + d.kx, i, a, e);
    b.stages().roots.push_back({acc, RootStage::Small, k.out_size * s.fields_out});
    Func filter(name);
    filter(d.kx, d.ky, d.ci, d.co) = acc(d.co, d.ci, d.kx, d.ky);
    return filter;
}

std::string conv_filter_grad_name(const PipelineBuilder &b, int param, const SteerableConv &s) {
    const std::string grad = b.grad_name(param);
    return s.basis < 0 ? grad : grad + "_filter";
}

Func conv_param_grad(PipelineBuilder &b, int param, const SteerableConv &s, const Func &d_filter) {
    if (s.basis < 0) return d_filter;
    const Dims &d = dims();
    const BasisShape k = basis_shape(b, s);
    const Func basis = b.constant(s.basis);
    // One weight per (output field, input field, element), in escnn's order.
    const Expr e = d.c % k.elements, pair = d.c / k.elements;
    const Expr o = pair / s.fields_in, c = pair % s.fields_in;
    RDom r(0, k.kernel * k.kernel, 0, k.in_size, 0, k.out_size, b.grad_name(param) + "_r");
    const Expr kx = r.x % k.kernel, ky = r.x / k.kernel;
    Func grad(b.grad_name(param));
    grad(d.c) = Halide::cast(b.type(), 0);
    grad(d.c) += d_filter(kx, ky, c * k.in_size + r.y, o * k.out_size + r.z) * basis(r.x, r.y, r.z, e);
    b.stages().roots.push_back({grad, RootStage::Flat, 0});
    return grad;
}

}  // namespace fernn::gen
