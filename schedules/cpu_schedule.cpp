#include "cpu_schedule.h"

namespace fernn::sched {

using gen::dims;
using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;

namespace {

// Largest divisor of n that is ≤ limit (≥ 1). Tiles that divide the spec's fixed extents
// leave no tails, so no loop needs a guard or a rounded-up read past the tensor.
int divisor_at_most(int n, int limit) {
    for (int d = std::min(n, std::max(1, limit)); d > 1; --d) {
        if (n % d == 0) return d;
    }
    return 1;
}

int lanes_for(const Halide::Type &type, const Halide::Target &t) {
    return t.natural_vector_size(type);
}

// Accumulators a tile may keep in vector registers, leaving room for operands.
int register_budget(const Halide::Target &t) {
    return t.has_feature(Halide::Target::AVX512) ? 24 : 12;
}

Halide::Type type_of(const Func &f) {
    return f.output_types()[0];
}

}  // namespace

ConvKnobs default_conv_knobs(const gen::ConvStage &s, int width, const Halide::Target &t) {
    const int natural = lanes_for(type_of(s.conv), t);
    ConvKnobs k{};
    if (s.out_channels >= natural / 2) {
        k.lanes = divisor_at_most(s.out_channels, natural);
        const int vectors = s.out_channels / k.lanes;
        k.c_vectors = vectors % 2 == 0 ? 2 : 1;
        k.x_tile = divisor_at_most(width, register_budget(t) / k.c_vectors);
        k.vectorize_x = false;
    } else {
        // Few output channels (the decoder's last layer): vectorize over pixels instead.
        k.lanes = divisor_at_most(width, natural);
        k.c_vectors = 1;
        k.x_tile = k.lanes;
        k.vectorize_x = true;
    }
    return k;
}

WeightGradKnobs default_weight_grad_knobs(const gen::WeightGradStage &s, const Halide::Target &t) {
    const int natural = lanes_for(type_of(s.dw), t);
    WeightGradKnobs k{};
    k.lanes = divisor_at_most(s.out_channels, natural);
    k.c_vectors = (s.out_channels / k.lanes) % 2 == 0 ? 2 : 1;
    k.ci_unroll = divisor_at_most(s.in_channels, register_budget(t) / (2 * k.c_vectors));
    k.batch_group = 4;
    return k;
}

namespace {

void schedule_conv(gen::ConvStage &s, const ConvKnobs &k) {
    const auto &d = dims();
    Var co("co_t"), ci("ci_t"), xo("xo"), xi("xi"), task("task");
    Func &owner = s.owner;
    owner.compute_root();
    const int c_tile = k.vectorize_x ? s.out_channels : k.lanes * k.c_vectors;
    owner.split(d.c, co, ci, c_tile, TailStrategy::RoundUp)
        .split(d.x, xo, xi, k.x_tile, TailStrategy::RoundUp);
    if (s.has_v) {
        owner.reorder(ci, xi, co, xo, d.y, d.v, d.b).fuse(d.v, d.b, task).fuse(d.y, task, task);
    } else {
        owner.reorder(ci, xi, co, xo, d.y, d.b).fuse(d.y, d.b, task);
    }
    owner.parallel(task);
    if (k.vectorize_x) {
        owner.vectorize(xi).unroll(ci);
    } else {
        owner.vectorize(ci, k.lanes).unroll(ci).unroll(xi);
    }

    // The conv tile lives in registers: computed per (co, xo) tile of the owner.
    Func &conv = s.conv;
    conv.compute_at(owner, co);
    const RVar rci(s.r[0]), rkx(s.r[1]), rky(s.r[2]);
    if (k.vectorize_x) {
        conv.vectorize(d.x).unroll(d.c);
        conv.update().reorder(d.x, d.c, rci, rkx, rky).vectorize(d.x).unroll(d.c);
    } else {
        conv.vectorize(d.c, k.lanes).unroll(d.c).unroll(d.x);
        conv.update()
            .reorder(d.c, d.x, rci, rkx, rky)
            .vectorize(d.c, k.lanes)
            .unroll(d.c)
            .unroll(d.x);
    }
}

void schedule_weight_grad(gen::WeightGradStage &s, const WeightGradKnobs &k) {
    const auto &d = dims();
    // Partial kernels per group of samples, in parallel, then summed: no two threads ever
    // write the same accumulator.
    const int nr = s.has_v ? 4 : 3;
    const RVar rx(s.r[0]), ry(s.r[1]), rb(s.r[nr - 1]);
    RVar rbo("rbo"), rbi("rbi");
    Var group("group");
    Func partial = s.dw.update().split(rb, rbo, rbi, k.batch_group).rfactor(rbo, group);
    partial.compute_root();
    Var coo("coo"), coi("coi"), cio("cio"), cii("cii");
    partial.vectorize(d.co, k.lanes).parallel(group);
    auto upd = partial.update();
    upd.split(d.co, coo, coi, k.lanes * k.c_vectors).split(d.ci, cio, cii, k.ci_unroll);
    // Inner to outer: channel block (registers), a row of pixels, then the kernel taps; the
    // block's accumulators stay in registers across the row.
    if (s.has_v) {
        const RVar rv(s.r[2]);
        upd.reorder(coi, cii, rx, coo, cio, d.kx, d.ky, ry, rv, rbi, group);
    } else {
        upd.reorder(coi, cii, rx, coo, cio, d.kx, d.ky, ry, rbi, group);
    }
    upd.vectorize(coi, k.lanes).unroll(coi).unroll(cii).parallel(group);

    s.dw.compute_root().vectorize(d.co, k.lanes);
    s.dw.update().vectorize(d.co, k.lanes);
    s.out.compute_root();
}

void schedule_root(gen::RootStage &s, const Halide::Target &t) {
    const auto &d = dims();
    Func &f = s.f;
    f.compute_root();
    const int natural = lanes_for(type_of(f), t);
    const int stages = 1 + f.num_update_definitions();
    for (int i = 0; i < stages; ++i) {
        Halide::Stage st = i == 0 ? Halide::Stage(f) : Halide::Stage(f.update(i - 1));
        switch (s.kind) {
            case gen::RootStage::Weights: {
                const int lanes = divisor_at_most(s.channels, natural);
                if (lanes > 1) st.vectorize(d.co, lanes);
                break;
            }
            case gen::RootStage::Frame:
            case gen::RootStage::Hidden: {
                const int lanes = divisor_at_most(s.channels, natural);
                if (lanes > 1) st.vectorize(d.c, lanes);
                Var task("task");
                if (s.kind == gen::RootStage::Hidden) {
                    st.fuse(d.v, d.b, task).fuse(d.y, task, task).parallel(task);
                } else {
                    st.fuse(d.y, d.b, task).parallel(task);
                }
                break;
            }
            case gen::RootStage::Scalar:
                st.parallel(d.b);
                break;
        }
    }
}

}  // namespace

nlohmann::json schedule_cpu(gen::PipelineDef &def, int width, int /*height*/,
                            const Halide::Target &t) {
    nlohmann::json record = nlohmann::json::array();
    for (auto &root : def.stages.roots) schedule_root(root, t);
    for (auto &conv : def.stages.convs) {
        const ConvKnobs k = default_conv_knobs(conv, width, t);
        schedule_conv(conv, k);
        record.push_back({{"stage", conv.conv.name()},
                          {"kind", "conv"},
                          {"lanes", k.lanes},
                          {"c_vectors", k.c_vectors},
                          {"x_tile", k.x_tile},
                          {"vectorize_x", k.vectorize_x}});
    }
    for (auto &wg : def.stages.weight_grads) {
        const WeightGradKnobs k = default_weight_grad_knobs(wg, t);
        schedule_weight_grad(wg, k);
        record.push_back({{"stage", wg.out.name()},
                          {"kind", "weight_grad"},
                          {"lanes", k.lanes},
                          {"c_vectors", k.c_vectors},
                          {"ci_unroll", k.ci_unroll},
                          {"batch_group", k.batch_group}});
    }
    return record;
}

}  // namespace fernn::sched
