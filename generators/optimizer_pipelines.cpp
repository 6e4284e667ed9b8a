#include "generators/optimizer_pipelines.h"

namespace fernn::gen {

namespace {

// A flat 1-D input of any length, dense.
Halide::ImageParam flat_input(const std::string &name, Type type) {
    Halide::ImageParam p(type, 1, name);
    p.dim(0).set_min(0).set_stride(1);
    return p;
}

// Tensors are described by the names they were given: Halide appends "$n" to a name a process
// uses twice, and the manifest must not depend on what else the process built.
void add_input(PipelineDef &def, Halide::ImageParam p, const std::string &name) {
    def.args.push_back(p);
    def.images.push_back(p);
    def.inputs.push_back({name, "flat", 0, ""});
}

Expr add_scalar(PipelineDef &def, const std::string &name, Type type) {
    Halide::Param<> p(type, name);
    def.args.push_back(p);
    def.scalars.push_back(p);
    def.inputs.push_back({name, "scalar", 0, ""});
    return p;
}

void add_output(PipelineDef &def, Func f, const std::string &name, const std::string &kind) {
    if (kind == "flat") f.output_buffer().dim(0).set_min(0).set_stride(1);
    def.funcs.push_back(f);
    def.outputs.push_back({name, kind, 0, ""});
}

}  // namespace

PipelineDef grad_accumulate_pipeline(Type type) {
    const Dims &d = dims();
    PipelineDef def;
    def.name = "grad_accumulate";
    Halide::ImageParam acc = flat_input("acc", type), step = flat_input("step", type);
    add_input(def, acc, "acc");
    add_input(def, step, "step");
    Func sum("sum");
    sum(d.c) = acc(d.c) + step(d.c);
    def.stages.roots.push_back({sum, RootStage::Flat, 0});
    add_output(def, sum, "sum", "flat");
    return def;
}

PipelineDef fill_zero_pipeline(Type type) {
    const Dims &d = dims();
    PipelineDef def;
    def.name = "fill_zero";
    Func zeros("zeros");
    zeros(d.c) = Halide::cast(type, 0);
    def.stages.roots.push_back({zeros, RootStage::Flat, 0});
    add_output(def, zeros, "zeros", "flat");
    return def;
}

PipelineDef optimizer_step_pipeline(Type type) {
    const Dims &d = dims();
    PipelineDef def;
    def.name = "optimizer_step";
    Halide::ImageParam params = flat_input("params", type), grads = flat_input("grads", type);
    Halide::ImageParam m = flat_input("m", type), v = flat_input("v", type);
    add_input(def, params, "params");
    add_input(def, grads, "grads");
    add_input(def, m, "m");
    add_input(def, v, "v");
    // Scalars as PyTorch forms them: Python floats (computed in double), cast to the tensor type.
    const Expr step_size = add_scalar(def, "step_size", type);
    const Expr bc2_sqrt = add_scalar(def, "bias_correction2_sqrt", type);
    const Expr beta1 = add_scalar(def, "beta1", type),
               one_minus_beta1 = add_scalar(def, "one_minus_beta1", type);
    const Expr beta2 = add_scalar(def, "beta2", type),
               one_minus_beta2 = add_scalar(def, "one_minus_beta2", type);
    const Expr eps = add_scalar(def, "eps", type);
    const Expr max_norm = add_scalar(def, "max_norm", Halide::Float(64));
    const Type f64 = Halide::Float(64);

    // The global L2 norm in float64: chunk sums (parallel), then their total.
    const int chunk = 4096;
    const Expr n = grads.dim(0).extent();
    Func chunk_sum("grad_chunk_sumsq");
    RDom rc(0, chunk, "rc");
    const Expr i = d.c * chunk + rc;
    chunk_sum(d.c) = Halide::cast(f64, 0);
    chunk_sum(d.c) += Halide::select(i < n,
                                     Halide::cast(f64, grads(Halide::min(i, n - 1))) *
                                         Halide::cast(f64, grads(Halide::min(i, n - 1))),
                                     Halide::cast(f64, 0));
    def.stages.roots.push_back({chunk_sum, RootStage::Flat, 0});
    RDom rt(0, (n + chunk - 1) / chunk, "rt");
    Func norm("grad_sumsq");
    norm() = Halide::cast(f64, 0);
    norm() += chunk_sum(rt);
    Func total("grad_norm");
    total() = Halide::sqrt(norm());
    def.stages.roots.push_back({norm, RootStage::Scalar, 0});
    // clip_grad_norm_: scale by min(1, max_norm / (norm + 1e-6)), in the gradient's type.
    const Expr coef = Halide::cast(
        type, Halide::select(max_norm > 0,
                             Halide::min(Expr(1.0), max_norm / (Halide::sqrt(norm()) + Expr(1e-6))),
                             Expr(1.0)));
    const Expr g = grads(d.c) * coef;
    Func m_next("m_next"), v_next("v_next"), p_next("params_next");
    m_next(d.c) = m(d.c) * beta1 + one_minus_beta1 * g;  // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    v_next(d.c) =
        v(d.c) * beta2 + one_minus_beta2 * g * g;  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    // param.addcdiv_(exp_avg, exp_avg_sq.sqrt() / bc2_sqrt + eps, value=-step_size)
    p_next(d.c) =
        params(d.c) + (-step_size) * (m_next(d.c) / (Halide::sqrt(v_next(d.c)) / bc2_sqrt + eps));
    for (Func f : {p_next, m_next, v_next}) def.stages.roots.push_back({f, RootStage::Flat, 0});
    add_output(def, p_next, "params_next", "flat");
    add_output(def, m_next, "m_next", "flat");
    add_output(def, v_next, "v_next", "flat");
    def.stages.roots.push_back({total, RootStage::Scalar, 0});
    add_output(def, total, "grad_norm", "scalar");
    return def;
}

}  // namespace fernn::gen
