#include "generators/activation.h"

#include <stdexcept>

namespace fernn::gen {

namespace {

// NaN test on the bits: Halide compiles float arithmetic with fast-math flags, under which
// is_nan(x) and x != x fold to false (checked in Halide 14).
Expr is_nan_bits(const Expr &x) {
    using Halide::Internal::make_const;
    if (x.type() == Halide::Float(64)) {
        const Halide::Type u = Halide::UInt(64);
        return (Halide::reinterpret(u, x) & make_const(u, uint64_t{0x7fffffffffffffff})) >
               make_const(u, uint64_t{0x7ff0000000000000});
    }
    const Halide::Type u = Halide::UInt(32);
    return (Halide::reinterpret(u, x) & make_const(u, uint64_t{0x7fffffff})) >
           make_const(u, uint64_t{0x7f800000});
}

// Halide 14's exp returns 0 for arguments beyond ~1e10, for +inf and for NaN; within
// ±(limit) it is exact to float rounding, and beyond the limit the result is already 0 or inf.
Expr exp_limited(const Expr &x) {
    const double limit = x.type() == Halide::Float(64) ? 708.0 : 88.0;
    return Halide::exp(Halide::clamp(x, Halide::cast(x.type(), Expr(-limit)),
                                     Halide::cast(x.type(), Expr(limit))));
}

// tanh for float32 in vectorizable arithmetic. Halide::tanh becomes a scalar libm call per
// element (16 ns here, measured in a JIT loop over 2^24 values: it tripled the KTH model's
// recurrent forward); Halide::exp vectorizes (1 ns). With e = exp(-2|x|) ≤ 1,
// tanh|x| = (1 - e) / (1 + e) never overflows; below |x| = 1/8, where 1 - e would cancel,
// the Taylor series to x^7 (truncation < 2e-7 relative). Worst relative error against double
// tanh: 3.9e-7 (tests/activation_test.cpp); ±inf gives ±1.
Expr tanh_f32(const Expr &x) {
    const Expr a = Halide::abs(x);
    const Expr e = exp_limited(-2.0f * a);
    const Expr large = (1.0f - e) / (1.0f + e);
    const Expr x2 = x * x;
    const Expr small =
        x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f))));
    return Halide::select(a < 0.125f, small, Halide::select(x < 0.0f, -large, large));
}

Expr activate_number(const std::string &kind, const Expr &pre) {
    const Expr zero = Halide::cast(pre.type(), 0), one = Halide::cast(pre.type(), 1);
    if (kind == "relu") return Halide::max(pre, zero);
    if (kind == "tanh") {
        // float64 builds (the finite-difference tests) keep libm's tanh.
        return pre.type() == Halide::Float(32) ? tanh_f32(pre) : Halide::tanh(pre);
    }
    if (kind == "sigmoid") return one / (one + exp_limited(-pre));
    throw std::invalid_argument("unknown activation " + kind);
}

}  // namespace

// NaN in, NaN out, as in PyTorch: a diverging run must reach its loss as NaN (the trainer
// stops on it), which max() and the clamped exp would otherwise hide.
Expr activate(const std::string &kind, const Expr &pre) {
    if (kind == "none") return pre;
    return Halide::select(is_nan_bits(pre), pre, activate_number(kind, pre));
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
