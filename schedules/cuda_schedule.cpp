#include "schedules/cuda_schedule.h"

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

// An integer knob >= lowest; `fallback` when absent (-1: required).
int knob(const json &j, const char *name, const std::string &stage, int lowest = 1,
         int fallback = -1) {
    if (!j.contains(name) && fallback >= 0) return fallback;
    if (!j.contains(name) || !j[name].is_number_integer() || j[name].get<int>() < lowest) {
        bad_knobs(stage, j, std::string(name) + " must be an integer >= " + std::to_string(lowest));
    }
    return j[name].get<int>();
}

struct CudaConvKnobs {
    int c_threads, x_tile, row_threads;
    bool shared_input;
    gen::ConvAlgorithm algorithm;  // Winograd: x_tile counts tiles; rows and sharing unused
};

struct CudaWeightGradKnobs {
    int co_threads, ci_threads, batch_group;
    gen::ConvAlgorithm algorithm;
};

// The knobs of a stage, checked against its shape: what schedule_cuda applies and what the
// tuner's neighbors must pass. A block has at most 1024 threads.
CudaConvKnobs cuda_conv_knobs(const gen::ConvStage &s, int width, const json &k) {
    const std::string stage = stage_name(s.conv);
    const CudaConvKnobs c{
        knob(k, "c_threads", stage), knob(k, "x_tile", stage), knob(k, "row_threads", stage, 1, 1),
        knob(k, "shared_input", stage, 0, 0) != 0, algorithm_knob(stage, k, s.algorithm)};
    const int m = gen::winograd_tile(c.algorithm);
    if (width % m != 0) bad_knobs(stage, k, "the tile must divide the width");
    if (s.out_channels % c.c_threads != 0 || (width / m) % c.x_tile != 0) {
        bad_knobs(stage, k,
                  m > 1 ? "c_threads must divide the channels and x_tile the tiles of a row"
                        : "c_threads must divide the channels and x_tile the width");
    }
    if (c.c_threads * c.row_threads > 1024) {
        bad_knobs(stage, k, "c_threads x row_threads must be 1..1024");
    }
    return c;
}

CudaWeightGradKnobs cuda_weight_grad_knobs(const gen::WeightGradStage &s, const json &k) {
    const std::string stage = stage_name(s.out);
    const CudaWeightGradKnobs w{knob(k, "co_threads", stage), knob(k, "ci_threads", stage),
                                knob(k, "batch_group", stage),
                                algorithm_knob(stage, k, s.algorithm)};
    if (s.out_channels % w.co_threads != 0 || s.in_channels % w.ci_threads != 0) {
        bad_knobs(stage, k, "co_threads and ci_threads must divide the channels");
    }
    if (w.co_threads * w.ci_threads > 1024) {
        bad_knobs(stage, k, "co_threads x ci_threads must be 1..1024");
    }
    return w;
}

json default_conv(const gen::ConvStage &s, int width) {
    json k{{"kind", "conv_cuda"},
           {"c_threads", divisor_at_most(s.out_channels, 32)},
           {"x_tile", divisor_at_most(width / gen::winograd_tile(s.algorithm), 4)},
           {"row_threads", 4},
           {"shared_input", 0}};
    put_algorithm(k, s.algorithm);
    return k;
}

json default_weight_grad(const gen::WeightGradStage &s) {
    json k{{"kind", "weight_grad_cuda"},
           {"co_threads", divisor_at_most(s.out_channels, 32)},
           {"ci_threads", divisor_at_most(s.in_channels, 4)},
           {"batch_group", 1}};
    put_algorithm(k, s.algorithm);
    return k;
}

// Pure dims of a Func (c, x, y[, v], b) or weight-shaped (co, ci, kx, ky) or fewer.
std::vector<Var> pure_vars(const Func &f) {
    std::vector<Var> out;
    for (const auto &a : f.args()) out.push_back(a);
    return out;
}

// One thread per channel (the innermost dimension), a block per remaining point: every stage
// of f (pure and updates).
void schedule_pointwise(Func f, int channels) {
    f.compute_root();
    const int stages = 1 + f.num_update_definitions();
    for (int i = 0; i < stages; ++i) {
        Halide::Stage st = i == 0 ? Halide::Stage(f) : Halide::Stage(f.update(i - 1));
        std::vector<Var> vars = pure_vars(f);
        if (vars.empty()) {
            st.gpu_single_thread();
            continue;
        }
        const int threads = divisor_at_most(std::max(channels, 1), 64);
        Var inner("pw_i"), outer("pw_o"), block("pw_b");
        if (vars.size() == 1) {
            st.split(vars[0], outer, inner, threads, TailStrategy::GuardWithIf)
                .gpu_blocks(outer)
                .gpu_threads(inner);
            continue;
        }
        // Fuse everything but the innermost dimension into one block index.
        Var fused = vars[1];
        for (size_t k = 2; k < vars.size(); ++k) {
            Var next("pw_f" + std::to_string(k));
            st.fuse(fused, vars[k], next);
            fused = next;
        }
        st.split(vars[0], outer, inner, threads, TailStrategy::GuardWithIf)
            .reorder(inner, outer, fused)
            .gpu_blocks(fused, outer)
            .gpu_threads(inner);
    }
}

// Winograd on the GPU: the transformed filter and input tiles as pointwise kernels; the products
// with a thread per output channel accumulating x_tile tiles over the input channels, a block per
// (transformed point, group of tiles, tile row, v, b); the output transform inlined into the
// owner (each output pixel combines the (m+2)² products of its tile).
void schedule_winograd_conv(gen::ConvStage &s, const CudaConvKnobs &kn) {
    const auto &d = dims();
    const auto &w = gen::winograd_dims();
    gen::WinogradFuncs &f = s.winograd;
    schedule_pointwise(f.filter, s.out_channels);
    schedule_pointwise(f.input, s.in_channels);
    if (s.pad.defined()) schedule_pointwise(s.pad, s.in_channels);
    Func &m = f.product;
    m.compute_root();
    Var co("wp_co"), ci("wp_ci"), to("wp_to"), ti("wp_ti"), points("wp_en"), rest("wp_rest");
    for (int i = 0; i < 2; ++i) {
        Halide::Stage st = i == 0 ? Halide::Stage(m) : Halide::Stage(m.update());
        st.split(d.c, co, ci, kn.c_threads).split(w.tx, to, ti, kn.x_tile).fuse(w.e, w.n, points);
        if (s.has_v) {
            st.fuse(d.v, d.b, rest).fuse(w.ty, rest, rest);
        } else {
            st.fuse(w.ty, d.b, rest);
        }
        if (i == 0) {
            st.reorder(ti, ci, co, to, points, rest);
        } else {
            st.reorder(ti, s.r.x, ci, co, to, points, rest);
        }
        Var tiles("wp_ct");
        st.unroll(ti).fuse(co, to, tiles).gpu_blocks(tiles, points, rest).gpu_threads(ci);
    }
    schedule_pointwise(s.owner, s.out_channels);
}

void schedule_conv(gen::ConvStage &s, int width, const json &k) {
    const CudaConvKnobs kn = cuda_conv_knobs(s, width, k);
    if (kn.algorithm != gen::ConvAlgorithm::Direct) return schedule_winograd_conv(s, kn);
    const int c_threads = kn.c_threads, x_tile = kn.x_tile, row_threads = kn.row_threads;
    const auto &d = dims();
    Var co("co"), ci("ci"), xo("xo"), xi("xi"), rows("rows");
    Func &owner = s.owner;
    owner.compute_root();
    owner.split(d.c, co, ci, c_threads).split(d.x, xo, xi, x_tile);
    if (s.has_v) {
        owner.fuse(d.v, d.b, rows).fuse(d.y, rows, rows);
    } else {
        owner.fuse(d.y, d.b, rows);
    }
    // row_threads rows per block share the weights through L1 and fill the block.
    Var ro("ro"), ri("ri");
    owner.split(rows, ro, ri, row_threads, TailStrategy::GuardWithIf);
    // A thread's x_tile outputs are its innermost (unrolled) loop, so the reduction below runs
    // once for all of them. blockIdx.x carries the largest extent (rows can exceed 65535).
    owner.reorder(xi, ci, ri, co, xo, ro).unroll(xi).gpu_blocks(ro, xo, co).gpu_threads(ci, ri);
    // Each thread accumulates its x_tile outputs in registers over the whole reduction.
    s.conv.compute_at(owner, ci).unroll(d.x);
    s.conv.update().reorder(d.x, s.r[0], s.r[1], s.r[2]).unroll(d.x);
    if (!s.pad.defined()) return;
    if (kn.shared_input) {
        // The block's input tile (x_tile + halo columns, the kernel's rows, every input channel)
        // is staged in shared memory by the block's own threads, then read by all of them.
        Var pc("pc"), pci("pci");
        s.pad.compute_at(owner, co)
            .split(d.c, pc, pci, c_threads, TailStrategy::GuardWithIf)
            .reorder(pci, pc)
            .gpu_threads(pci);
    } else {
        schedule_pointwise(s.pad, s.in_channels);
    }
}

void schedule_weight_grad(gen::WeightGradStage &s, const json &k) {
    const CudaWeightGradKnobs kn = cuda_weight_grad_knobs(s, k);
    const int co_threads = kn.co_threads, ci_threads = kn.ci_threads, group = kn.batch_group;
    const auto &d = dims();
    const int nr = s.has_v ? 4 : 3;
    const RVar rb(s.r[nr - 1]);
    RVar rbo("rbo"), rbi("rbi");
    Var g("group");
    Func partial = s.dw.update().split(rb, rbo, rbi, group).rfactor(rbo, g);
    partial.compute_root();
    Var coo("coo"), coi("coi"), cio("cio"), cii("cii"), taps("taps");
    for (int i = 0; i < 2; ++i) {
        Halide::Stage st = i == 0 ? Halide::Stage(partial) : Halide::Stage(partial.update());
        st.split(d.co, coo, coi, co_threads)
            .split(d.ci, cio, cii, ci_threads)
            .fuse(d.kx, d.ky, taps)
            .reorder(coi, cii, coo, cio, taps, g)
            .gpu_blocks(cio, taps, g)
            .gpu_threads(coi, cii);
    }
    // Groups summed: one thread per kernel entry.
    s.dw.compute_root();
    for (int i = 0; i < 2; ++i) {
        Halide::Stage st = i == 0 ? Halide::Stage(s.dw) : Halide::Stage(s.dw.update());
        st.split(d.co, coo, coi, co_threads)
            .fuse(d.kx, d.ky, taps)
            .reorder(coi, coo, d.ci, taps)
            .gpu_blocks(d.ci, taps)
            .gpu_threads(coi);
    }
    schedule_pointwise(s.out, 1);
    if (s.pad.defined()) schedule_pointwise(s.pad, s.in_channels);
    if (s.algorithm != gen::ConvAlgorithm::Direct) {
        // Winograd: the transformed tiles of the whole batch, then summed as above.
        schedule_pointwise(s.winograd.input, s.in_channels);
        schedule_pointwise(s.winograd.output, s.out_channels);
    }
}

}  // namespace

json default_cuda_knobs(const gen::PipelineDef &def, int width) {
    json knobs = json::object();
    for (const auto &c : def.stages.convs) knobs[stage_name(c.conv)] = default_conv(c, width);
    for (const auto &w : def.stages.weight_grads) knobs[stage_name(w.out)] = default_weight_grad(w);
    return knobs;
}

std::vector<json> cuda_knob_neighbors(const gen::PipelineDef &def, const std::string &stage,
                                      const json &current, int width) {
    const gen::ConvStage *conv = nullptr;
    const gen::WeightGradStage *wg = nullptr;
    for (const auto &c : def.stages.convs)
        if (stage_name(c.conv) == stage) conv = &c;
    for (const auto &w : def.stages.weight_grads)
        if (stage_name(w.out) == stage) wg = &w;
    if (!conv && !wg) {
        throw std::invalid_argument("pipeline " + def.name() + " has no tunable stage " + stage);
    }
    const std::map<std::string, std::vector<int>> values{{"c_threads", {8, 16, 32, 64, 128, 256}},
                                                         {"x_tile", divisors(width)},
                                                         {"co_threads", {8, 16, 32, 64, 128}},
                                                         {"ci_threads", {1, 2, 4, 8, 16}},
                                                         {"batch_group", {1, 2, 4, 8, 16}},
                                                         {"row_threads", {1, 2, 4, 8, 16}},
                                                         {"shared_input", {0, 1}}};
    // What schedule_cuda accepts, and (a search bound) no more than 8 outputs per thread.
    auto valid = [&](const json &k) {
        try {
            if (conv) return cuda_conv_knobs(*conv, width, k).x_tile <= 8;
            cuda_weight_grad_knobs(*wg, k);
            return true;
        } catch (const std::invalid_argument &) {
            return false;
        }
    };
    std::vector<json> out;
    for (const auto &[name, options] : values) {
        if (!current.contains(name)) continue;
        for (int v : options) {
            if (current[name] == v) continue;
            json candidate = current;
            candidate[name] = v;
            if (valid(candidate)) out.push_back(candidate);
        }
    }
    // The other algorithms of a 3×3 stage (checked when the stage is built for them).
    const int kernel = conv ? conv->kernel : wg->kernel;
    const int in_channels = conv ? conv->in_channels : wg->in_channels;
    for (gen::ConvAlgorithm a :
         other_algorithms(kernel, in_channels, width, algorithm_knob(stage, current))) {
        json candidate = current;
        if (conv) candidate["x_tile"] = divisor_at_most(width / gen::winograd_tile(a), 4);
        put_algorithm(candidate, a);
        out.push_back(candidate);
    }
    return out;
}

json schedule_cuda(gen::PipelineDef &def, int width, const json &knobs) {
    json used = default_cuda_knobs(def, width);
    for (const auto &item : knobs.items()) {
        if (!used.contains(item.key())) {
            throw std::invalid_argument("pipeline " + def.name() + " has no tunable stage " +
                                        item.key());
        }
        used[item.key()] = item.value();
    }
    // Flat stages (over the parameter buffer) have no channel count: 64 threads a block.
    for (auto &root : def.stages.roots)
        schedule_pointwise(root.f, root.kind == gen::RootStage::Flat ? 64 : root.channels);
    for (auto &c : def.stages.convs) schedule_conv(c, width, used[stage_name(c.conv)]);
    for (auto &w : def.stages.weight_grads) schedule_weight_grad(w, used[stage_name(w.out)]);
    // Outputs not scheduled above (e.g. a zero gradient) run on the GPU too.
    for (auto &f : def.funcs) {
        bool scheduled = false;
        for (const auto &r : def.stages.roots) scheduled |= r.f.name() == f.name();
        for (const auto &c : def.stages.convs) scheduled |= c.owner.name() == f.name();
        for (const auto &w : def.stages.weight_grads) scheduled |= w.out.name() == f.name();
        if (!scheduled) schedule_pointwise(f, 1);
    }
    return used;
}

}  // namespace fernn::sched
