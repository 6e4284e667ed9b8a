#include "generators/activation.h"

#include <stdexcept>

namespace fernn::gen {

Expr activate(const std::string &kind, const Expr &pre) {
    const Expr zero = Halide::cast(pre.type(), 0), one = Halide::cast(pre.type(), 1);
    if (kind == "none") return pre;
    if (kind == "relu") return Halide::max(pre, zero);
    if (kind == "tanh") return Halide::tanh(pre);
    if (kind == "sigmoid") return one / (one + Halide::exp(-pre));
    throw std::invalid_argument("unknown activation " + kind);
}

Expr activation_slope(const std::string &kind, const Expr &out) {
    const Expr zero = Halide::cast(out.type(), 0), one = Halide::cast(out.type(), 1);
    if (kind == "none") return one;
    if (kind == "relu") return Halide::select(out > zero, one, zero);
    if (kind == "tanh") return one - out * out;
    if (kind == "sigmoid") return out * (one - out);
    throw std::invalid_argument("unknown activation " + kind);
}

}  // namespace fernn::gen
