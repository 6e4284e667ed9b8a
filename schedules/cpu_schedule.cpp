#include "schedules/cpu_schedule.h"

#include <map>
#include <stdexcept>

#include "generators/winograd.h"
#include "schedules/schedule_util.h"

namespace fernn::sched {

using gen::dims;
using Halide::Func;
using Halide::RVar;
using Halide::TailStrategy;
using Halide::Var;
using nlohmann::json;

namespace {

int natural_lanes(const Func &f, const Halide::Target &t) {
    return t.natural_vector_size(f.output_types()[0]);
}

// Accumulators a tile may keep in vector registers, leaving room for operands.
int register_budget(const Halide::Target &t) {
    return t.has_feature(Halide::Target::AVX512) ? 24 : 12;
}

// The accumulators a Winograd candidate of the tuner starts from: a row of 7 tiles (28 pixels
// in 4×4 tiles) by 2 vectors of channels. Its operands are broadcasts from memory, so 14 of
// AVX2's 16 registers can hold sums (FERNN-V1 hidden 128: x_tile 1 instead of 7 made the cell
// forward 19% slower, the training step 13%).
constexpr int kTileAccumulators = 16;

json to_json(const ConvKnobs &k) {
    json j{{"kind", "conv"},
           {"lanes", k.lanes},
           {"c_vectors", k.c_vectors},
           {"x_tile", k.x_tile},
           {"vectorize_x", k.vectorize_x}};
    put_algorithm(j, k.algorithm);
    return j;
}

json to_json(const WeightGradKnobs &k) {
    json j{{"kind", "weight_grad"},
           {"lanes", k.lanes},
           {"c_vectors", k.c_vectors},
           {"ci_unroll", k.ci_unroll},
           {"batch_group", k.batch_group}};
    put_algorithm(j, k.algorithm);
    return j;
}

ConvKnobs conv_knobs(const gen::ConvStage &s, int width, const json &j) {
    const std::string stage = stage_name(s.conv);
    ConvKnobs k{};
    try {
        if (j.at("kind") != "conv") bad_knobs(stage, j, "kind must be \"conv\"");
        k = {j.at("lanes").get<int>(), j.at("c_vectors").get<int>(), j.at("x_tile").get<int>(),
             j.at("vectorize_x").get<bool>()};
        k.algorithm = algorithm_knob(stage, j, s.algorithm);
    } catch (const json::exception &e) {
        bad_knobs(stage, j, e.what());
    }
    if (k.lanes < 1 || k.c_vectors < 1 || k.x_tile < 1) bad_knobs(stage, j, "knobs must be >= 1");
    if (k.algorithm != gen::ConvAlgorithm::Direct) {
        // x_tile counts tiles of m×m outputs in the register block of the products.
        const int m = gen::winograd_tile(k.algorithm), tiles = width / m;
        if (width % m != 0)
            bad_knobs(stage, j, "the tile must divide the width " + std::to_string(width));
        if (k.vectorize_x) bad_knobs(stage, j, "Winograd vectorizes over channels");
        if (tiles % k.x_tile != 0)
            bad_knobs(stage, j,
                      "x_tile must divide the " + std::to_string(tiles) + " tiles of a row");
        if (s.out_channels % (k.lanes * k.c_vectors) != 0) {
            bad_knobs(stage, j,
                      "lanes x c_vectors must divide the " + std::to_string(s.out_channels) +
                          " channels");
        }
        return k;
    }
    if (width % k.x_tile != 0)
        bad_knobs(stage, j, "x_tile must divide the width " + std::to_string(width));
    if (k.vectorize_x) {
        if (k.x_tile % k.lanes != 0) bad_knobs(stage, j, "lanes must divide x_tile");
    } else if (s.out_channels % (k.lanes * k.c_vectors) != 0) {
        bad_knobs(
            stage, j,
            "lanes x c_vectors must divide the " + std::to_string(s.out_channels) + " channels");
    }
    return k;
}

WeightGradKnobs weight_grad_knobs(const gen::WeightGradStage &s, const json &j) {
    const std::string stage = stage_name(s.out);
    WeightGradKnobs k{};
    try {
        if (j.at("kind") != "weight_grad") bad_knobs(stage, j, "kind must be \"weight_grad\"");
        k = {j.at("lanes").get<int>(), j.at("c_vectors").get<int>(), j.at("ci_unroll").get<int>(),
             j.at("batch_group").get<int>()};
        k.algorithm = algorithm_knob(stage, j, s.algorithm);
    } catch (const json::exception &e) {
        bad_knobs(stage, j, e.what());
    }
    if (k.lanes < 1 || k.c_vectors < 1 || k.ci_unroll < 1 || k.batch_group < 1) {
        bad_knobs(stage, j, "knobs must be >= 1");
    }
    if (s.out_channels % (k.lanes * k.c_vectors) != 0) {
        bad_knobs(
            stage, j,
            "lanes x c_vectors must divide the " + std::to_string(s.out_channels) + " channels");
    }
    if (s.in_channels % k.ci_unroll != 0)
        bad_knobs(stage, j, "ci_unroll must divide the input channels");
    return k;
}

ConvKnobs default_conv(const gen::ConvStage &s, int width, const Halide::Target &t) {
    const int natural = natural_lanes(s.conv, t);
    ConvKnobs k{};
    if (s.algorithm != gen::ConvAlgorithm::Direct) {
        k.algorithm = s.algorithm;
        k.lanes = divisor_at_most(s.out_channels, natural);
        k.c_vectors = (s.out_channels / k.lanes) % 2 == 0 ? 2 : 1;
        k.x_tile = divisor_at_most(width / gen::winograd_tile(s.algorithm),
                                   (register_budget(t) + 4) / k.c_vectors);
        k.vectorize_x = false;
        return k;
    }
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

WeightGradKnobs default_weight_grad(const gen::WeightGradStage &s, const Halide::Target &t) {
    const int natural = natural_lanes(s.dw, t);
    WeightGradKnobs k{};
    k.algorithm = s.algorithm;
    k.lanes = divisor_at_most(s.out_channels, natural);
    k.c_vectors = (s.out_channels / k.lanes) % 2 == 0 ? 2 : 1;
    k.ci_unroll = divisor_at_most(s.in_channels, register_budget(t) / (2 * k.c_vectors));
    k.batch_group = 4;
    return k;
}

// The padded input of a conv or weight gradient is made inside the consumer's loop over rows:
// each task copies the few rows it reads (about 1% of its arithmetic) instead of a separate
// parallel pass over the whole tensor with a barrier before the consumer.
void schedule_pad(Func pad, int channels, int natural, const Func &consumer,
                  const Halide::LoopLevel &at) {
    if (!pad.defined()) return;
    pad.compute_at(at);
    const int lanes = divisor_at_most(channels, natural);
    if (lanes > 1) pad.vectorize(dims().c, lanes);
    (void)consumer;
}

// Winograd: each task is one row of output tiles (m rows of pixels) of one (v, b). It
// transforms the input rows it reads, multiplies them with the transformed filter for every
// transformed point (the row's tiles × all output channels, register-blocked as the direct
// conv), then transforms each tile back inside the owner's loop.
void schedule_winograd_conv(gen::ConvStage &s, const ConvKnobs &k, int natural) {
    const auto &d = dims();
    const auto &w = gen::winograd_dims();
    gen::WinogradFuncs &f = s.winograd;
    const int m = f.tile;
    Var ty("wt_ty"), wy("wt_wy"), tx("wt_tx"), wx("wt_wx"), task("task");
    Func &owner = s.owner;
    owner.compute_root();
    owner.split(d.y, ty, wy, m, TailStrategy::GuardWithIf).split(d.x, tx, wx, m);
    if (s.has_v) {
        owner.reorder(d.c, wx, wy, tx, ty, d.v, d.b).fuse(d.v, d.b, task).fuse(ty, task, task);
    } else {
        owner.reorder(d.c, wx, wy, tx, ty, d.b).fuse(ty, d.b, task);
    }
    owner.parallel(task).vectorize(d.c, k.lanes).unroll(wx).unroll(wy);
    const Halide::LoopLevel row(owner, task), tile(owner, tx);
    // Back from the transformed domain, one tile at a time.
    f.output.compute_at(tile).vectorize(d.c, k.lanes).unroll(w.wx).unroll(w.wy);
    f.output_x.compute_at(tile).vectorize(d.c, k.lanes).unroll(w.wx).unroll(w.n);
    // The products of the row: for each transformed point a register-blocked matrix product.
    Var co("wp_co"), ci("wp_ci"), to("wp_to"), ti("wp_ti");
    f.product.compute_at(row).vectorize(d.c, k.lanes);
    f.product.update()
        .split(d.c, co, ci, k.lanes * k.c_vectors)
        .split(w.tx, to, ti, k.x_tile)
        .reorder(ci, ti, s.r.x, co, to, w.e, w.n)
        .vectorize(ci, k.lanes)
        .unroll(ci)
        .unroll(ti);
    // The row's input tiles, transformed along x then y.
    const int in_lanes = divisor_at_most(s.in_channels, natural);
    f.input.compute_at(row).unroll(w.e).unroll(w.n);
    f.input_x.compute_at(row).unroll(w.e);
    if (in_lanes > 1) {
        f.input.vectorize(d.c, in_lanes);
        f.input_x.vectorize(d.c, in_lanes);
    }
    schedule_pad(s.pad, s.in_channels, natural, owner, row);
    // The filter's transform: once per call, as the other repacked weights.
    f.filter.compute_root()
        .vectorize(d.co, divisor_at_most(s.out_channels, natural))
        .unroll(w.e)
        .unroll(w.n);
}

void schedule_conv(gen::ConvStage &s, const ConvKnobs &k, int natural) {
    if (s.algorithm != gen::ConvAlgorithm::Direct) return schedule_winograd_conv(s, k, natural);
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
    schedule_pad(s.pad, s.in_channels, natural, owner, Halide::LoopLevel(owner, task));
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

void schedule_weight_grad(gen::WeightGradStage &s, const WeightGradKnobs &k, int natural) {
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
    const Halide::LoopLevel row(partial, ry);
    schedule_pad(s.pad, s.in_channels, natural, partial, row);
    if (s.algorithm != gen::ConvAlgorithm::Direct) {
        // Winograd: the row's input and gradient tiles are transformed where the row is
        // summed; the sums go back to the 3×3 kernel in `out`.
        const auto &w = gen::winograd_dims();
        gen::WinogradFuncs &f = s.winograd;
        const int in_lanes = divisor_at_most(s.in_channels, natural);
        for (Func t : {f.input, f.input_x}) {
            t.compute_at(row).unroll(w.e);
            if (in_lanes > 1) t.vectorize(d.c, in_lanes);
        }
        f.input.unroll(w.n);
        for (Func t : {f.output, f.output_x}) t.compute_at(row).vectorize(d.c, k.lanes).unroll(w.e);
        f.output.unroll(w.n);
    }

    s.dw.compute_root().vectorize(d.co, k.lanes);
    s.dw.update().vectorize(d.co, k.lanes);
    s.out.compute_root();
}

void schedule_root(gen::RootStage &s, const Halide::Target &t) {
    const auto &d = dims();
    Func &f = s.f;
    f.compute_root();
    const int natural = natural_lanes(f, t);
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
                if (f.dimensions() == 2)
                    st.parallel(d.b);  // (y, b) row sums; 0-D: nothing to split
                break;
            case gen::RootStage::Small: {
                // Innermost dimension vectorized; the others fused into one parallel loop.
                const std::vector<Halide::Var> vars = f.args();
                if (vars.empty()) break;
                const int lanes = divisor_at_most(std::max(s.channels, 1), natural);
                if (lanes > 1) st.vectorize(vars[0], lanes);
                if (vars.size() > 1) {
                    Var task = vars[1];
                    for (size_t k = 2; k < vars.size(); ++k) {
                        Var fused("small_f" + std::to_string(k));
                        st.fuse(task, vars[k], fused);
                        task = fused;
                    }
                    st.parallel(task);
                }
                break;
            }
            case gen::RootStage::Flat: {
                if (i > 0) {
                    // A reduction over a chunk per element (e.g. the gradient norm's partial
                    // sums): the chunks in parallel, each summed in order.
                    st.parallel(d.c);
                    break;
                }
                // 1-D over the parameter buffer: blocks of 4096 in parallel, vectorized.
                Var block("block"), inner("inner");
                st.split(d.c, block, inner, 4096, TailStrategy::GuardWithIf)
                    .parallel(block)
                    .vectorize(inner, natural);
                break;
            }
        }
    }
}

}  // namespace

json default_knobs(const gen::PipelineDef &def, int width, const Halide::Target &t) {
    json knobs = json::object();
    for (const auto &conv : def.stages.convs)
        knobs[stage_name(conv.conv)] = to_json(default_conv(conv, width, t));
    for (const auto &wg : def.stages.weight_grads)
        knobs[stage_name(wg.out)] = to_json(default_weight_grad(wg, t));
    return knobs;
}

std::vector<json> knob_neighbors(const gen::PipelineDef &def, const std::string &stage,
                                 const json &current, int width) {
    // The values each knob may take; validity is checked by parsing each neighbor.
    std::map<std::string, std::vector<json>> values;
    for (int x : divisors(width)) values["x_tile"].push_back(x);
    for (int v : {1, 2, 3, 4}) values["c_vectors"].push_back(v);
    for (int v : {1, 2, 4, 8, 16}) values["ci_unroll"].push_back(v);
    for (int v : {1, 2, 4, 8, 16}) values["batch_group"].push_back(v);
    std::vector<json> out;
    auto try_each = [&](auto &&parse) {
        for (const auto &[knob, options] : values) {
            if (!current.contains(knob)) continue;
            for (const json &v : options) {
                if (current[knob] == v) continue;
                json candidate = current;
                candidate[knob] = v;
                try {
                    parse(candidate);
                    out.push_back(candidate);
                } catch (const std::invalid_argument &) {
                }
            }
        }
    };
    for (const auto &conv : def.stages.convs) {
        if (stage_name(conv.conv) != stage) continue;
        // First the other algorithms (the largest change, so the tuner tries them first), with
        // the same register block: the stage is built again for them, so their knobs are
        // checked here rather than against this build.
        const ConvKnobs now = conv_knobs(conv, width, current);
        if (!now.vectorize_x) {
            for (gen::ConvAlgorithm a :
                 other_algorithms(conv.kernel, conv.in_channels, width, now.algorithm)) {
                ConvKnobs k = now;
                k.algorithm = a;
                k.x_tile = divisor_at_most(width / gen::winograd_tile(a),
                                           std::max(1, kTileAccumulators / k.c_vectors));
                out.push_back(to_json(k));
            }
        }
        try_each([&](const json &j) {
            const ConvKnobs k = conv_knobs(conv, width, j);
            // Beyond ~30 accumulators the tile no longer fits the vector registers.
            if (!k.vectorize_x && k.c_vectors * k.x_tile > 30)
                bad_knobs(stage, j, "too many accumulators");
        });
        return out;
    }
    for (const auto &wg : def.stages.weight_grads) {
        if (stage_name(wg.out) != stage) continue;
        // The other algorithms first, with the same knobs (checked when built for them).
        const WeightGradKnobs now = weight_grad_knobs(wg, current);
        for (gen::ConvAlgorithm a :
             other_algorithms(wg.kernel, wg.in_channels, width, now.algorithm)) {
            WeightGradKnobs k = now;
            k.algorithm = a;
            out.push_back(to_json(k));
        }
        try_each([&](const json &j) {
            const WeightGradKnobs k = weight_grad_knobs(wg, j);
            if (k.c_vectors * k.ci_unroll > 28) bad_knobs(stage, j, "too many accumulators");
        });
        return out;
    }
    throw std::invalid_argument("pipeline " + def.name() + " has no tunable stage " + stage);
}

json schedule_cpu(gen::PipelineDef &def, int width, const Halide::Target &t, const json &knobs) {
    json used = json::object();
    for (const auto &item : knobs.items()) {
        bool known = false;
        for (const auto &c : def.stages.convs) known |= stage_name(c.conv) == item.key();
        for (const auto &w : def.stages.weight_grads) known |= stage_name(w.out) == item.key();
        if (!known)
            throw std::invalid_argument("pipeline " + def.name() + " has no tunable stage " +
                                        item.key());
    }
    for (auto &root : def.stages.roots) schedule_root(root, t);
    for (auto &conv : def.stages.convs) {
        const std::string name = stage_name(conv.conv);
        const ConvKnobs k = knobs.contains(name) ? conv_knobs(conv, width, knobs[name])
                                                 : default_conv(conv, width, t);
        schedule_conv(conv, k, natural_lanes(conv.conv, t));
        used[name] = to_json(k);
    }
    for (auto &wg : def.stages.weight_grads) {
        const std::string name = stage_name(wg.out);
        const WeightGradKnobs k =
            knobs.contains(name) ? weight_grad_knobs(wg, knobs[name]) : default_weight_grad(wg, t);
        schedule_weight_grad(wg, k, natural_lanes(wg.dw, t));
        used[name] = to_json(k);
    }
    return used;
}

}  // namespace fernn::sched
