// Why fernn's backward is hand-derived: builds the gradient of one FERNN cell step,
// h_next = relu(x + conv_h(move_v(h_prev))), twice: with Halide 14's propagate_adjoints on the
// forward Funcs and with fernn's own adjoint generator (generators/flows/, scheduled by
// schedules/cpu_schedule.cpp), then JIT-compiles both and times them on the same random data,
// checking that they agree. The autodiff graph is timed unscheduled and as scheduled by the
// Mullapudi2016 autoscheduler.
//
//   build/bench_autodiff_vs_manual [channels] [velocity range] [batch]
#include <Halide.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "generators/activation.h"
#include "generators/flows/flow.h"
#include "schedules/cpu_schedule.h"

using namespace fernn;
using namespace Halide;

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Buffer<float> random_buffer(std::vector<int> extents, unsigned seed) {
    Buffer<float> b(extents);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-0.5f, 0.5f);
    b.for_each_value([&](float &v) { v = u(rng); });
    return b;
}

// Median of up to 7 runs; stops early once 20 s have been spent (the unscheduled autodiff
// pipeline can take minutes per run).
double median_ms(const std::function<void()> &f) {
    std::vector<double> t;
    const double start = now_s();
    for (int i = 0; i < 7 && now_s() - start < 20; ++i) {
        const double t0 = now_s();
        f();
        t.push_back(1e3 * (now_s() - t0));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows while autodiff compiles
    const int channels = argc > 1 ? std::atoi(argv[1]) : 32;
    const int range = argc > 2 ? std::atoi(argv[2]) : 1;
    const int batch = argc > 3 ? std::atoi(argv[3]) : 16;
    json doc = json::parse(R"({"fernn":1,"name":"b","input":{"channels":1,"height":28,"width":28},
      "flow":{"group":"translation","velocities":{"range":1},"boundary":"circular"},
      "lifting":{"kernel":3},"recurrence":{"channels":32,"kernel":3,"activation":"relu"},
      "readout":{"pool":"max","decoder":{"layers":1,"kernel":3},"channels":1},
      "sequence":{"input_frames":2,"output_frames":1}})");
    doc["recurrence"]["channels"] = channels;
    doc["flow"]["velocities"]["range"] = range;
    const Spec spec = parse_spec(doc, JsonSource{"<bench>", {}});
    const int copies = spec.copies();
    const Target target = get_host_target();
    std::printf("cell backward, hidden %d, |V| %d, batch %d, 28x28, target %s\n", channels,
                copies, batch, target.to_string().c_str());

    Buffer<float> x = random_buffer({channels, 28, 28, batch}, 1);
    Buffer<float> h_prev = random_buffer({channels, 28, 28, copies, batch}, 2);
    Buffer<float> d_h_next = random_buffer({channels, 28, 28, copies, batch}, 3);
    Buffer<float> w_h = random_buffer({3, 3, channels, channels}, 5);
    auto flow = gen::make_flow(spec.flow, {});
    const gen::Dims &d = gen::dims();
    const gen::RecurrentShape shape{channels, 3, copies, gen::Frame{28, 28}, Expr(batch),
                                    Float(32)};
    // h_next = relu(x + conv_h(move(h))) from Funcs, as the cell generator builds it.
    auto cell = [&](const Func &h, const Func &w, gen::Stages &st) {
        Func packed = gen::pack_weights(w, "conv_h_packed");
        gen::ConvStage rec = flow->recurrent(h, packed, shape, st);
        Func hn("h_next");
        hn(d.c, d.x, d.y, d.v, d.b) =
            gen::activate("relu", Func(x)(d.c, d.x, d.y, d.b) + rec.conv(d.c, d.x, d.y, d.v, d.b));
        rec.owner = hn;
        st.convs.push_back(rec);
        st.roots.push_back({packed, gen::RootStage::Weights, channels});
        return hn;
    };

    // fernn: forward pipeline for h_next, then the hand-derived backward pipeline.
    Buffer<float> h_next(channels, 28, 28, copies, batch);
    {
        gen::Stages st;
        cell(Func(h_prev), Func(w_h), st).realize(h_next, target);  // unscheduled: values only
    }
    Buffer<float> m_dh(channels, 28, 28, copies, batch), m_dwh(3, 3, channels, channels);
    double manual_compile, manual_run;
    {
        gen::Stages st;
        Func d_pre("d_pre");
        d_pre(d.c, d.x, d.y, d.v, d.b) =
            Func(d_h_next)(d.c, d.x, d.y, d.v, d.b) *
            gen::activation_slope("relu", Func(h_next)(d.c, d.x, d.y, d.v, d.b));
        st.roots.push_back({d_pre, gen::RootStage::Hidden, channels});
        Func packed = gen::pack_weights(Func(w_h), "conv_h_packed");
        gen::FlowModule::Gradients g = flow->recurrent_backward(
            d_pre, Func(h_prev), packed, shape, "grad_conv_h", {}, st);
        gen::PipelineDef def;
        def.geometry = Geometry{28, 28, copies};
        def.stages = st;
        def.funcs = {g.d_h_prev, g.d_w_h};
        sched::schedule_cpu(def, 28, target);
        Pipeline p(def.funcs);
        const double t0 = now_s();
        p.compile_jit(target);
        manual_compile = now_s() - t0;
        manual_run = median_ms([&] { p.realize({m_dh, m_dwh}, target); });
    }
    std::printf("hand-derived adjoints (fernn):   compile %7.2f s   run %9.2f ms\n", manual_compile,
                manual_run);

    // Halide autodiff of the same forward Funcs: loss = Σ h_next · d_h_next, so that the
    // adjoints are exactly the vector-Jacobian products fernn computes.
    gen::Stages st;
    Func hp("hp"), wh("wh");
    hp(d.c, d.x, d.y, d.v, d.b) = h_prev(d.c, d.x, d.y, d.v, d.b);
    wh(d.kx, d.ky, d.ci, d.co) = w_h(d.kx, d.ky, d.ci, d.co);
    Func hn = cell(hp, wh, st);
    RDom r(0, channels, 0, 28, 0, 28, 0, copies, 0, batch);
    Func loss("loss");
    loss() = 0.f;
    loss() += hn(r[0], r[1], r[2], r[3], r[4]) * d_h_next(r[0], r[1], r[2], r[3], r[4]);
    Derivative adj = propagate_adjoints(loss);
    Func a_dh = adj(hp), a_dwh = adj(wh);
    Buffer<float> a_dhb(channels, 28, 28, copies, batch), a_dwhb(3, 3, channels, channels);
    // "mullapudi": the gradient graph scheduled by Halide's Mullapudi2016 autoscheduler (the
    // fastest to run of the three in ../shared/HALIDE14_NOTES.md); "none": Halide's default.
    // Unscheduled goes first (auto_schedule rewrites the Funcs' schedules) and only at tiny
    // sizes: at hidden 4, batch 2 one run already takes most of a minute.
    std::vector<std::string> modes{"mullapudi"};
    if (channels * batch <= 8) modes.insert(modes.begin(), "none");
    for (const std::string &mode : modes) {
        Pipeline ap({a_dh, a_dwh});
        const double a0 = now_s();
        if (mode == "mullapudi") {
            load_plugin("/usr/lib/x86_64-linux-gnu/halide14/libautoschedule_mullapudi2016.so");
            a_dh.set_estimates({{0, channels}, {0, 28}, {0, 28}, {0, copies}, {0, batch}});
            a_dwh.set_estimates({{0, 3}, {0, 3}, {0, channels}, {0, channels}});
            ap.auto_schedule("Mullapudi2016", target, MachineParams(2, 32 << 20, 40));
        }
        ap.compile_jit(target);
        const double auto_compile = now_s() - a0;
        std::printf("propagate_adjoints, schedule %-9s: compile %7.2f s\n", mode.c_str(),
                    auto_compile);
        const double auto_run = median_ms([&] { ap.realize({a_dhb, a_dwhb}, target); });
        std::printf("propagate_adjoints, schedule %-9s: run %9.2f ms\n", mode.c_str(), auto_run);
    }

    auto rel = [](const Buffer<float> &a, const Buffer<float> &b) {
        double d2 = 0, n2 = 0;
        for (size_t i = 0; i < a.number_of_elements(); ++i) {
            d2 += std::pow(a.data()[i] - b.data()[i], 2);
            n2 += std::pow(b.data()[i], 2);
        }
        return std::sqrt(d2 / n2);
    };
    std::printf("agreement (relative error): d_h_prev %.2e, d_conv_h %.2e\n", rel(a_dhb, m_dh),
                rel(a_dwhb, m_dwh));
    return 0;
}
