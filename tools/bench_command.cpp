// fernn bench: times a spec's inference forward, training forward, backward and whole training
// step (forward + BPTT + clipping + Adam) on random data, per pipeline too, and relates the
// model FLOPs to the machine's measured FP32 peak (CPU). On CUDA each timing ends when the
// device is done; per-pipeline times come from one more step that waits after every pipeline.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "runtime/data/rng.h"
#include "runtime/model/sequence_model.h"
#include "runtime/training/bptt_memory.h"
#include "runtime/training/optimizer.h"
#include "runtime/training/process_memory.h"
#include "tools/commands.h"

namespace fernn::cli {

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <typename F>
double time_ms(F &&f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int bench(const BenchArgs &a) {
    const Spec spec = load_spec(a.spec, a.sets);
    const int threads =
        a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    ModelArgs m;
    m.spec = a.spec;
    m.model_dir = a.model_dir;
    m.threads = threads;
    m.device = a.device;
    auto lib = resolve_model(m, spec);
    SequenceModel<float> model(lib);
    const int B = a.batch, t_in = spec.sequence.input_frames;
    const int t_out = spec.readout.predicts_frames() ? spec.sequence.output_frames : 0;
    const ModelPlan &plan = model.plan();
    const auto weights = init_weights<float>(plan, 0);
    const InputSpec &in = spec.input;
    Array<float> x({B, t_in, in.channels, in.height, in.width});
    Array<float> y({B, t_out, in.channels, in.height, in.width});
    std::vector<int64_t> labels(size_t(B), 0);
    SplitMix64 rng(1);
    for (auto &v : x.data) v = float(rng.uniform());
    for (auto &v : y.data) v = float(rng.uniform());
    if (model.classifies())
        for (auto &l : labels) l = rng.integer(0, spec.readout.classes.classes - 1);
    const Targets<float> targets{model.classifies() ? nullptr : &y,
                                 model.classifies() ? &labels : nullptr};
    // As fernn train: parameters, gradients and Adam's moments stay on the device.
    Optimizer<float> opt(*lib, AdamConfig{});
    opt.params().upload(weights.params);
    Statistics<float> stats(*lib);
    stats.upload(weights.stats);
    Parameters<float> grads(*lib);

    SequenceModel<float>::Trace trace;
    SequenceModel<float>::Options infer_mode, train_mode;
    infer_mode.t_out = train_mode.t_out = t_out;
    train_mode.mode = Mode::Train;
    train_mode.keep_all = true;
    train_mode.recompute = a.recompute == "auto" ? leanest_recompute(spec) : std::stoi(a.recompute);
    std::vector<double> infer, fwd, bwd, opt_ms, step;
    std::map<std::string, std::vector<double>> stage;
    // The forward's last output, waited for: on CUDA the launches return before the work ends.
    auto done = [&] {
        if (trace.t_out > 0) trace.preds.back().synchronize();
        if (trace.logits.size() > 0) trace.logits.synchronize();
        if (!trace.states.empty() && !trace.states.back().empty())
            trace.states.back().back().synchronize();
    };
    const bool cuda = a.device == "cuda";
    // On CUDA, one more repetition at the end waits after each pipeline for its own time.
    const int reps = a.warmup + a.repeats + (cuda ? 1 : 0);
    for (int rep = 0; rep < reps; ++rep) {
        const bool per_pipeline = cuda ? rep == reps - 1 : rep >= a.warmup;
        lib->set_sync_each_call(cuda && per_pipeline);
        const double ti = time_ms([&] {
            model.forward(opt.params(), &stats, x, infer_mode, trace);
            done();
        });
        lib->reset_times();
        const double tf = time_ms([&] {
            model.forward(opt.params(), &stats, x, train_mode, trace);
            done();
        });
        // backward ends with the loss read back and step with the gradient norm: both wait.
        const double tb = time_ms([&] { model.backward(opt.params(), targets, trace, grads); });
        const double to = time_ms([&] { opt.step(grads, spec.training.clip_grad_norm); });
        if (per_pipeline) {
            for (const auto &t : lib->times()) stage[t.name].push_back(1e3 * t.seconds);
        }
        if (rep < a.warmup || (cuda && rep == reps - 1)) continue;
        infer.push_back(ti);
        fwd.push_back(tf);
        bwd.push_back(tb);
        opt_ms.push_back(to);
        step.push_back(tf + tb + to);
    }
    lib->set_sync_each_call(false);

    // Model FLOPs: the forward as counted by `fernn check`; the backward does twice the
    // forward's convolution work except for the first lifting conv's input gradient (never
    // needed).
    const double steps = t_in + t_out;
    const double pixels = double(in.height) * in.width;
    const double lift = pixels * spec.lifting.layers[0].flops_per_pixel();
    const double head_steps = model.classifies() ? 1 : t_out;
    const double forward_flops =
        B * (steps * spec.flops_encoder_step() + head_steps * spec.flops_head_step());
    const double train_flops = 3 * forward_flops - B * steps * lift;
    // The recurrent cells: conv_h (and a learned flow's filters) of every layer.
    double cell_flops = 0;
    for (const auto &l : spec.recurrence.layers) {
        cell_flops += pixels * spec.copies() * 2.0 * l.channels * l.channels * l.kernel * l.kernel;
        if (spec.flow.group == "learned") {
            cell_flops += pixels * spec.copies() * 2.0 * l.channels * spec.flow.learned_kernel *
                          spec.flow.learned_kernel;
        }
    }
    const double cell_fwd_flops = B * steps * cell_flops;
    const double cell_bwd_flops = 2 * cell_fwd_flops;
    // The CPU's measured peak; none for CUDA (or where it cannot be measured: fernn-run).
    const double peak = cuda ? 0 : machine_peak_gflops(threads);
    auto share = [&](double gflops) { return peak > 0 ? json(gflops / peak) : json(nullptr); };
    const double step_ms = median(step);
    const double gflops = train_flops / step_ms / 1e6;
    json stages = json::object();
    for (const auto &[name, v] : stage) stages[name + "_ms"] = median(v);
    // The recurrent cells: their pipelines for the first step and for the others together.
    double cf = 0, cb = 0;
    for (const PipelineSignature &p : plan.pipelines) {
        if (!stage.count(p.name)) continue;
        if (p.op == Op::CellForward || p.op == Op::CellForwardFirst) cf += median(stage[p.name]);
        if (p.op == Op::CellBackward || p.op == Op::CellBackwardFirst) cb += median(stage[p.name]);
    }
    json out{{"spec", spec.name},
             {"device", a.device},
             {"batch", B},
             {"threads", threads},
             {"velocities", spec.copies()},
             {"hidden", spec.top_channels()},
             {"readout", spec.readout.kind},
             {"forward_ms", median(infer)},
             {"train_forward_ms", median(fwd)},
             {"backward_ms", median(bwd)},
             {"optimizer_ms", median(opt_ms)},
             {"train_step_ms", step_ms},
             {"train_gflop", train_flops / 1e9},
             {"gflops_per_s", gflops},
             {"peak_gflops_per_s", peak > 0 ? json(peak) : json(nullptr)},
             {"peak_fraction", share(gflops)},
             {"cell_forward_ms", cf},
             {"cell_backward_ms", cb},
             {"cell_forward_gflops_per_s", cell_fwd_flops / cf / 1e6},
             {"cell_backward_gflops_per_s", cell_bwd_flops / cb / 1e6},
             {"stages_per_train_step", stages},
             {"peak_memory_gib", peak_memory_gib()},
             {"recompute", train_mode.recompute},
             {"bptt_estimate_gib", bptt_bytes(spec, B, train_mode.recompute) / double(1 << 30)},
             {"repeats", a.repeats}};
    // How each convolution and weight gradient is computed, as the schedule chose (the
    // manifest's knobs by device, pipeline and stage): "pipeline.stage" -> algorithm.
    json algorithms = json::object();
    const json &schedule = lib->manifest().value("schedule", json::object());
    const json by_device = schedule.value("by_device", json::object());
    const json knobs = by_device.contains(a.device) ? by_device[a.device]
                                                    : schedule.value("stages", json::object());
    for (const auto &p : knobs.items()) {
        if (!p.value().is_object()) continue;
        for (const auto &st : p.value().items()) {
            if (st.value().is_object() && st.value().contains("kind"))
                algorithms[p.key() + "." + st.key()] = st.value().value("algorithm", "direct");
        }
    }
    out["algorithms"] = algorithms;
    out["cell_forward_peak_fraction"] = share(out["cell_forward_gflops_per_s"].get<double>());
    out["cell_backward_peak_fraction"] = share(out["cell_backward_gflops_per_s"].get<double>());
    if (a.json_output) {
        std::cout << out.dump() << "\n";
        return 0;
    }
    std::printf("%s on %s: batch %d, %d+%d frames, |V| %d, hidden %d, %d threads (median of %d)\n",
                spec.name.c_str(), a.device.c_str(), B, t_in, t_out, spec.copies(),
                spec.top_channels(), threads, a.repeats);
    std::printf("  forward (inference)   %9.2f ms\n", median(infer));
    std::printf(
        "  training step         %9.2f ms  = forward %.2f + backward %.2f + clip/Adam %.2f\n",
        step_ms, median(fwd), median(bwd), median(opt_ms));
    const double cf_rate = out["cell_forward_gflops_per_s"].get<double>(),
                 cb_rate = out["cell_backward_gflops_per_s"].get<double>();
    if (peak > 0) {
        std::printf(
            "  model FLOPs/step      %9.3f GFLOP -> %.1f GFLOP/s, %.0f%% of the measured peak "
            "%.1f GFLOP/s\n",
            train_flops / 1e9, gflops, 100 * gflops / peak, peak);
        std::printf(
            "  recurrent cell        forward %.1f GFLOP/s (%.0f%%), backward %.1f GFLOP/s "
            "(%.0f%%)\n",
            cf_rate, 100 * cf_rate / peak, cb_rate, 100 * cb_rate / peak);
    } else {
        std::printf("  model FLOPs/step      %9.3f GFLOP -> %.1f GFLOP/s\n", train_flops / 1e9,
                    gflops);
        std::printf("  recurrent cell        forward %.1f GFLOP/s, backward %.1f GFLOP/s\n",
                    cf_rate, cb_rate);
    }
    std::printf("  peak memory           %9.2f GiB (resident, host); BPTT estimate %.2f GiB, %s\n",
                out["peak_memory_gib"].get<double>(), out["bptt_estimate_gib"].get<double>(),
                train_mode.recompute == 0
                    ? "every state kept"
                    : ("recomputing segments of " + std::to_string(train_mode.recompute) + " steps")
                          .c_str());
    std::printf("  per training step:");
    for (const auto &[name, v] : stage) std::printf(" %s %.2f ms;", name.c_str(), median(v));
    std::printf("\n");
    return 0;
}

}  // namespace fernn::cli
