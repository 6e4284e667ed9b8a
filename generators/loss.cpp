#include "generators/loss.h"

namespace fernn::gen {

Func mse_gradient(const Func &pred, const Func &target, const Expr &scale) {
    const Dims &d = dims();
    Func g("d_pred");
    g(d.c, d.x, d.y, d.b) = scale * (pred(d.c, d.x, d.y, d.b) - target(d.c, d.x, d.y, d.b));
    return g;
}

Func sum_squared_error(const Func &pred, const Func &target, int channels, int width, int height,
                       const Expr &batch, Type type, Stages &stages) {
    const Dims &d = dims();
    // Rows first, then their total: the row sums vectorize and parallelize, and summing in
    // two levels keeps float32 rounding small for large batches.
    RDom rc(0, channels, 0, width, "sse_rc");
    Func rows("sse_rows");
    const Expr diff = pred(rc.x, rc.y, d.y, d.b) - target(rc.x, rc.y, d.y, d.b);
    rows(d.y, d.b) = Halide::cast(type, 0);
    rows(d.y, d.b) += diff * diff;
    stages.roots.push_back({rows, RootStage::Scalar, 0});
    RDom rr(0, height, 0, batch, "sse_rr");
    Func sse("sse");
    sse() = Halide::cast(type, 0);
    sse() += rows(rr.x, rr.y);
    return sse;
}

}  // namespace fernn::gen
