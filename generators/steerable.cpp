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
    // Expanded per field pair in the basis' own layout (tap p innermost, then input and output
    // orientation): every term reads the basis contiguously, with no index arithmetic per tap.
    Var p("p"), i("i"), a("a"), pair("pair");
    RDom e(0, k.elements, name + "_e");
    Func acc(name + "_acc");
    acc(p, i, a, pair) = Halide::cast(b.type(), 0);
    acc(p, i, a, pair) += weights(pair * k.elements + e) * basis(p, i, a, e);
    b.stages().roots.push_back({acc, RootStage::Small, k.kernel * k.kernel});
    // The dense OIHW view: pair = o·F_in + c, co = o·N + a, ci = c·I + i.
    Func filter(name);
    filter(d.kx, d.ky, d.ci, d.co) =
        acc(d.ky * k.kernel + d.kx, d.ci % k.in_size, d.co % k.out_size,
            (d.co / k.out_size) * s.fields_in + d.ci / k.in_size);
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
    // The filter gradient rearranged into the basis' layout per field pair, then one dot
    // product per weight, both operands read contiguously.
    Var p("p"), i("i"), a("a"), pair("pair");
    Func by_pair(b.grad_name(param) + "_by_pair");
    by_pair(p, i, a, pair) = d_filter(p % k.kernel, p / k.kernel, (pair % s.fields_in) * k.in_size + i,
                                      (pair / s.fields_in) * k.out_size + a);
    b.stages().roots.push_back({by_pair, RootStage::Small, k.kernel * k.kernel});
    // One weight per (output field, input field, element), in escnn's order.
    const Expr e = d.c % k.elements, field_pair = d.c / k.elements;
    RDom r(0, k.kernel * k.kernel, 0, k.in_size, 0, k.out_size, b.grad_name(param) + "_r");
    Func grad(b.grad_name(param));
    grad(d.c) = Halide::cast(b.type(), 0);
    grad(d.c) += by_pair(r.x, r.y, r.z, field_pair) * basis(r.x, r.y, r.z, e);
    b.stages().roots.push_back({grad, RootStage::Flat, 0});
    return grad;
}

}  // namespace fernn::gen
