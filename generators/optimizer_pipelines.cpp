#include "generators/optimizer_pipelines.h"

#include "runtime/plan/arguments.h"

namespace fernn::gen {

void build_grad_accumulate(const Spec &, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    Func sum(arg::sum);
    sum(d.c) = b.in(arg::acc)(d.c) + b.in(arg::step)(d.c);
    b.stages().roots.push_back({sum, RootStage::Flat, 0});
    b.out(sum);
}

void build_fill_zero(const Spec &, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    Func zeros(arg::zeros);
    zeros(d.c) = Halide::cast(b.type(), 0);
    b.stages().roots.push_back({zeros, RootStage::Flat, 0});
    b.out(zeros);
}

void build_optimizer_step(const Spec &, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    const Type type = b.type();
    const Func params = b.in(arg::params), grads = b.in(arg::grads);
    const Func m = b.in(arg::exp_avg), v = b.in(arg::exp_avg_sq);
    // Scalars as PyTorch forms them: Python floats (computed in double), cast to the tensor type.
    const Expr step_size = b.scalar(arg::step_size);
    const Expr bc2_sqrt = b.scalar(arg::bias_correction2_sqrt);
    const Expr beta1 = b.scalar(arg::beta1), one_minus_beta1 = b.scalar(arg::one_minus_beta1);
    const Expr beta2 = b.scalar(arg::beta2), one_minus_beta2 = b.scalar(arg::one_minus_beta2);
    const Expr eps = b.scalar(arg::eps);
    const Expr max_norm = b.scalar(arg::max_norm);
    const Type f64 = Halide::Float(64);
    Stages &stages = b.stages();

    // The global L2 norm in float64: chunk sums (parallel), then their total.
    const int chunk = 4096;
    const Expr n = b.extent(arg::grads, 0);
    Func chunk_sum("grad_chunk_sumsq");
    RDom rc(0, chunk, "rc");
    const Expr i = d.c * chunk + rc;
    chunk_sum(d.c) = Halide::cast(f64, 0);
    chunk_sum(d.c) += Halide::select(i < n,
                                     Halide::cast(f64, grads(Halide::min(i, n - 1))) *
                                         Halide::cast(f64, grads(Halide::min(i, n - 1))),
                                     Halide::cast(f64, 0));
    stages.roots.push_back({chunk_sum, RootStage::Flat, 0});
    RDom rt(0, (n + chunk - 1) / chunk, "rt");
    Func norm("grad_sumsq");
    norm() = Halide::cast(f64, 0);
    norm() += chunk_sum(rt);
    Func total(arg::grad_norm);
    total() = Halide::sqrt(norm());
    stages.roots.push_back({norm, RootStage::Scalar, 0});
    // clip_grad_norm_: scale by min(1, max_norm / (norm + 1e-6)), in the gradient's type.
    const Expr coef = Halide::cast(
        type, Halide::select(max_norm > 0,
                             Halide::min(Expr(1.0), max_norm / (Halide::sqrt(norm()) + Expr(1e-6))),
                             Expr(1.0)));
    const Expr g = grads(d.c) * coef;
    Func m_next(arg::exp_avg_next), v_next(arg::exp_avg_sq_next), p_next(arg::params_next);
    m_next(d.c) = m(d.c) * beta1 + one_minus_beta1 * g;  // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    v_next(d.c) =
        v(d.c) * beta2 + one_minus_beta2 * g * g;  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    // param.addcdiv_(exp_avg, exp_avg_sq.sqrt() / bc2_sqrt + eps, value=-step_size)
    p_next(d.c) =
        params(d.c) + (-step_size) * (m_next(d.c) / (Halide::sqrt(v_next(d.c)) / bc2_sqrt + eps));
    for (Func f : {p_next, m_next, v_next}) stages.roots.push_back({f, RootStage::Flat, 0});
    for (Func f : {p_next, m_next, v_next}) b.out(f);
    stages.roots.push_back({total, RootStage::Scalar, 0});
    b.out(total);
}

}  // namespace fernn::gen
