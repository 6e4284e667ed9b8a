#include "generators/heads/pooling.h"

namespace fernn::gen {

Func pool_copies(const std::string &name, const std::string &pool, const Func &h, int copies,
                 int channels, Type type, Stages &stages) {
    const Dims &d = dims();
    // Explicit updates (not inline reductions) so the schedule can vectorize them.
    Func total(name + "_total");
    total(d.c, d.x, d.y, d.b) = h(d.c, d.x, d.y, 0, d.b);
    if (copies > 1) {
        RDom rv(1, copies - 1, name + "_rv");
        const Expr next = h(d.c, d.x, d.y, rv, d.b);
        const Expr acc = total(d.c, d.x, d.y, d.b);
        total(d.c, d.x, d.y, d.b) = pool == "max" ? Halide::max(acc, next) : acc + next;
    }
    Func pooled(name);
    Expr value = total(d.c, d.x, d.y, d.b);
    if (pool == "mean") value = value / Halide::cast(type, copies);
    pooled(d.c, d.x, d.y, d.b) = value;
    stages.roots.push_back({total, RootStage::Frame, channels});
    stages.roots.push_back({pooled, RootStage::Frame, channels});
    return pooled;
}

Func unpool_copies(const std::string &name, const std::string &pool, const Func &h,
                   const Func &d_pooled, const Func &carry, int copies, int channels, Type type,
                   Stages &stages) {
    const Dims &d = dims();
    Expr share = d_pooled(d.c, d.x, d.y, d.b);
    if (pool == "max") {
        Func best(name + "_max_index");
        best(d.c, d.x, d.y, d.b) = Halide::Tuple(0, h(d.c, d.x, d.y, 0, d.b));
        if (copies > 1) {
            RDom rv(1, copies - 1, name + "_argmax_rv");
            const Expr candidate = h(d.c, d.x, d.y, rv, d.b);
            const Expr better = candidate > best(d.c, d.x, d.y, d.b)[1];
            best(d.c, d.x, d.y, d.b) =
                Halide::Tuple(Halide::select(better, rv, best(d.c, d.x, d.y, d.b)[0]),
                              Halide::select(better, candidate, best(d.c, d.x, d.y, d.b)[1]));
        }
        stages.roots.push_back({best, RootStage::Frame, channels});
        share = Halide::select(d.v == best(d.c, d.x, d.y, d.b)[0], share, Halide::cast(type, 0));
    } else if (pool == "mean") {
        share = share / Halide::cast(type, copies);
    }
    Func d_h(name);
    d_h(d.c, d.x, d.y, d.v, d.b) = carry(d.c, d.x, d.y, d.v, d.b) + share;
    stages.roots.push_back({d_h, RootStage::Hidden, channels});
    return d_h;
}

}  // namespace fernn::gen
