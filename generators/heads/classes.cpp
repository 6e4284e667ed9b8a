#include "generators/heads/classes.h"

#include "generators/heads/pooling.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

double pixels(const Spec &spec) {
    return double(spec.input.height) * spec.input.width;
}

}  // namespace

void build_pool_forward(const Spec &spec, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    const ClassesReadout &r = spec.readout.classes;
    const int channels = spec.top_channels();
    Stages &stages = b.stages();
    Func pooled =
        pool_copies("pooled", r.pool, b.in(arg::h), spec.copies(), channels, b.type(), stages);
    // The spatial mean: row sums, then their total.
    RDom rx(0, spec.input.width, "pool_rx");
    Func rows("pool_rows");
    rows(d.c, d.y, d.b) = Halide::cast(b.type(), 0);
    rows(d.c, d.y, d.b) += pooled(d.c, rx, d.y, d.b);
    stages.roots.push_back({rows, RootStage::Small, channels});
    RDom ry(0, spec.input.height, "pool_ry");
    Func total("pool_total");
    total(d.c, d.b) = Halide::cast(b.type(), 0);
    total(d.c, d.b) += rows(d.c, ry, d.b);
    stages.roots.push_back({total, RootStage::Small, channels});
    Func feat(arg::feat);
    feat(d.c, d.b) = total(d.c, d.b) / Halide::cast(b.type(), Expr(pixels(spec)));
    stages.roots.push_back({feat, RootStage::Small, channels});
    b.out(feat);
}

void build_pool_backward(const Spec &spec, const Block &, PipelineBuilder &b) {
    const Dims &d = dims();
    const int channels = spec.top_channels();
    Func spread("d_pooled");  // each pixel's share of the spatial mean
    spread(d.c, d.x, d.y, d.b) =
        b.in(arg::d_feat)(d.c, d.b) / Halide::cast(b.type(), Expr(pixels(spec)));
    b.out(unpool_copies(arg::d_h, spec.readout.classes.pool, b.in(arg::h), spread,
                        b.in(arg::d_h_carry), spec.copies(), channels, b.type(), b.stages()));
}

void build_classifier_forward(const Spec &spec, const Block &block, PipelineBuilder &b) {
    const Dims &d = dims();
    const int channels = spec.top_channels();
    const Func weight = b.param(block.params.at(0)), bias = b.param(block.params.at(1));
    const Func feat = b.in(arg::feat_sum);
    // nn.Linear: logits(k, b) = bias(k) + Σ_c W(k, c) · s(c, b); W is (K, C), Halide (c, k).
    RDom rc(0, channels, "fc_rc");
    Func dot("fc_dot");
    dot(d.c, d.b) = Halide::cast(b.type(), 0);
    dot(d.c, d.b) += weight(rc, d.c) * feat(rc, d.b);
    b.stages().roots.push_back({dot, RootStage::Small, spec.readout.classes.classes});
    Func logits(arg::logits);
    logits(d.c, d.b) = bias(d.c) + b.scalar(arg::time_scale) * dot(d.c, d.b);
    b.stages().roots.push_back({logits, RootStage::Small, spec.readout.classes.classes});
    b.out(logits);
}

void build_classifier_backward(const Spec &spec, const Block &block, PipelineBuilder &b) {
    const Dims &d = dims();
    const int channels = spec.top_channels(), classes = spec.readout.classes.classes;
    const Type t = b.type();
    const Func weight = b.param(block.params.at(0));
    const Func d_logits = b.in(arg::d_logits), feat = b.in(arg::feat_sum);
    const Expr time_scale = b.scalar(arg::time_scale);
    Stages &stages = b.stages();

    RDom rb(0, b.batch(), "fc_rb");
    Func d_weight(b.grad_name(block.params.at(0)));  // (c, k)
    d_weight(d.c, d.co) = Halide::cast(t, 0);
    d_weight(d.c, d.co) += d_logits(d.co, rb) * time_scale * feat(d.c, rb);
    stages.roots.push_back({d_weight, RootStage::Small, channels});
    Func d_bias(b.grad_name(block.params.at(1)));
    d_bias(d.c) = Halide::cast(t, 0);
    d_bias(d.c) += d_logits(d.c, rb);
    stages.roots.push_back({d_bias, RootStage::Small, classes});
    // Each step's feat entered the logits scaled by time_scale.
    RDom rc(0, classes, "fc_back_rk");
    Func back("fc_back");
    back(d.c, d.b) = Halide::cast(t, 0);
    back(d.c, d.b) += weight(d.c, rc) * d_logits(rc, d.b);
    stages.roots.push_back({back, RootStage::Small, channels});
    Func d_feat(arg::d_feat);
    d_feat(d.c, d.b) = time_scale * back(d.c, d.b);
    stages.roots.push_back({d_feat, RootStage::Small, channels});
    b.out(d_feat);
    b.out(d_weight);
    b.out(d_bias);
}

}  // namespace fernn::gen
