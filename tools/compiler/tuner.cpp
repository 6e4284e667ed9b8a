#include "tools/compiler/tuner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>

#include "generators/pipelines.h"
#include "schedules/cpu_schedule.h"
#include "schedules/pipeline_schedule.h"
#include "schedules/schedule_record.h"
#include "schedules/schedule_util.h"
#include "tools/compiler/compile_model.h"

namespace fernn::sched {

namespace {

using Clock = std::chrono::steady_clock;

// Runs fn in a forked child and returns the JSON it produces; {"error": ...} when the child
// throws, crashes, or exceeds timeout seconds.
json in_child(const std::function<json()> &fn, double timeout) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        signal(SIGINT, SIG_DFL);  // Ctrl-C ends the measurement at once
        close(fds[0]);
        // Halide's and the autoschedulers' chatter stays out of the search's log; failures
        // come back as the JSON error.
        if (FILE *null = std::fopen("/dev/null", "w")) dup2(fileno(null), STDERR_FILENO);
        std::string out;
        try {
            out = fn().dump();
        } catch (const std::exception &e) {
            out = json{{"error", e.what()}}.dump();
        }
        for (size_t done = 0; done < out.size();) {
            const ssize_t n = write(fds[1], out.data() + done, out.size() - done);
            if (n <= 0) break;
            done += size_t(n);
        }
        _exit(0);
    }
    close(fds[1]);
    std::string text;
    char buf[4096];
    const auto start = Clock::now();
    bool killed = false;
    // Reads until the child closes its end, killing it if it overruns.
    while (true) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fds[0], &set);
        timeval tv{1, 0};
        const int ready = select(fds[0] + 1, &set, nullptr, nullptr, &tv);
        if (ready > 0) {
            const ssize_t n = read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            text.append(buf, size_t(n));
        } else if (std::chrono::duration<double>(Clock::now() - start).count() > timeout) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (killed) return json{{"error", "timed out after " + std::to_string(int(timeout)) + " s"}};
    if (!WIFEXITED(status) || text.empty()) {
        return json{{"error", WIFSIGNALED(status)
                                  ? "killed by signal " + std::to_string(WTERMSIG(status))
                                  : "no result"}};
    }
    return json::parse(text);
}

// Random values in [-0.5, 0.5) of the argument's type.
Halide::Buffer<> random_buffer(const Argument &a, const Geometry &g, int batch, int64_t flat,
                               Halide::Type model, unsigned seed) {
    const std::vector<int> extents = halide_extents(a.type, g, batch, flat);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(-0.5, 0.5);
    if (a.type.element == Element::Float64 || model.bits() == 64) {
        Halide::Buffer<double> b(extents);
        b.for_each_value([&](double &v) { v = u(rng); });
        return b;
    }
    Halide::Buffer<float> b(extents);
    b.for_each_value([&](float &v) { v = float(u(rng)); });
    return b;
}

int pipeline_index(const ModelPlan &plan, const std::string &name) {
    for (size_t i = 0; i < plan.pipelines.size(); ++i)
        if (plan.pipelines[i].name == name) return int(i);
    throw std::invalid_argument("the model has no pipeline " + name);
}

}  // namespace

double time_pipeline(const Spec &spec, const std::string &name, const json &knobs, int batch,
                     const std::string &target_string) {
    const Halide::Target target(target_string);
    const ModelPlan plan = build_plan(spec);
    const Halide::Type f32 = Halide::Float(32);
    gen::PipelineDef def =
        gen::build_pipeline(spec, plan, f32, pipeline_index(plan, name), algorithms_of(knobs));
    json used;
    Halide::Pipeline pipeline = schedule_pipeline(def, plan, target, knobs, used);
    pipeline.compile_jit(target);
    const int64_t flat = plan.params_size();
    // Runs the pipeline on random data of batch b; returns the median of `repeats` timings.
    auto run = [&](int b, int repeats) {
        std::vector<Halide::Buffer<>> keep;
        size_t image = 0, scalar = 0;
        unsigned seed = 1;
        for (const auto &a : def.signature.inputs) {
            if (a.type.kind == TensorKind::Scalar) {
                auto &param = def.scalars.at(scalar++);
                if (param.type().bits() == 64) {
                    param.set(0.5);
                } else {
                    param.set(0.5f);
                }
                continue;
            }
            keep.push_back(random_buffer(a, def.geometry, b, flat, f32, seed++));
            def.images.at(image++).set(keep.back());
        }
        std::vector<Halide::Buffer<>> outputs;
        for (const auto &a : def.signature.outputs)
            outputs.push_back(random_buffer(a, def.geometry, b, flat, f32, 0));
        Halide::Realization realization(outputs);
        // On a GPU the outputs are left on the device; waiting for them ends the timing.
        auto sync = [&] {
            for (auto &o : outputs) o.device_sync();
        };
        pipeline.realize(realization, target);  // warm-up: thread pool, caches, GPU module
        sync();
        if (repeats == 0) return 0.0;
        std::vector<double> ms;
        for (int i = 0; i < repeats; ++i) {
            const auto t0 = Clock::now();
            pipeline.realize(realization, target);
            sync();
            ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    // A schedule must serve every batch size (evaluation runs other batches than training):
    // autoschedulers may tile the batch and fail on smaller ones.
    for (int b : {1, 3}) {
        try {
            run(b, 0);
        } catch (const Halide::RuntimeError &e) {
            throw std::runtime_error("fails at batch " + std::to_string(b) + ": " + e.what());
        }
    }
    return run(batch, 5);
}

json tune(const Spec &spec, const std::string &target, const TuneOptions &o) {
    const auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    auto out_of_time = [&] { return elapsed() > o.budget_seconds || (o.stop && *o.stop); };
    auto log = [&](const std::string &s) {
        if (o.log) o.log(s);
    };
    if (o.threads > 0) setenv("HL_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
    if (is_cuda(Halide::Target(target))) {
        // Tuning times real runs: without a GPU, say so before the search starts.
        const json probe = in_child(
            [&] {
                Halide::Func f("cuda_probe");
                Halide::Var x("x"), xo("xo"), xi("xi");
                f(x) = x;
                f.gpu_tile(x, xo, xi, 32);
                Halide::Buffer<int> out(64);
                f.realize(out, Halide::Target(target));
                out.copy_to_host();
                return json(out(63) == 63);
            },
            120);
        if (probe.is_object() && probe.contains("error")) {
            throw InputError("no CUDA device: " + probe["error"].get<std::string>());
        }
    }
    json record{{"fernn_schedule_record", 1},
                {"model", spec.name},
                {"model_hash", spec.model_hash()},
                {"spec", spec.normalized()},
                {"algorithm_version", kAlgorithmVersion},
                {"schedule_version", schedule_version(Halide::Target(target))},
                {"target", target},
                {"tuned", {{"batch", o.batch}, {"threads", o.threads}, {"command", "fernn tune"}}},
                {"pipelines", json::object()},
                {"measured_ms", json::object()}};
    auto save = [&] {
        record["tuned"]["seconds"] = elapsed();
        write_record(o.record_path, record);
    };
    auto measure = [&](const std::string &p, const json &knobs, double timeout) {
        const json r =
            in_child([&] { return json(time_pipeline(spec, p, knobs, o.batch, target)); }, timeout);
        return r.is_number()
                   ? std::make_pair(r.get<double>(), std::string())
                   : std::make_pair(double(INFINITY), r.value("error", std::string("failed")));
    };
    char line[512];
    // Phase 1: defaults of every pipeline, so the search can start with the slowest.
    // Every pipeline with tunable stages (convolutions, weight gradients) is tuned.
    const ModelPlan plan = build_plan(spec);
    const int width = spec.input.width;
    // Built with the algorithms the knobs choose (none: direct).
    auto build = [&](const std::string &p, const json &knobs) {
        return gen::build_pipeline(spec, plan, Halide::Float(32), pipeline_index(plan, p),
                                   algorithms_of(knobs));
    };
    std::map<std::string, json> best;
    std::map<std::string, double> t_best;
    std::vector<std::string> order, tuned;
    for (const PipelineSignature &sig : plan.pipelines) {
        const std::string p = sig.name;
        const json defaults = in_child(
            [&] {
                gen::PipelineDef def = build(p, json::object());
                return default_knobs_for(def, width, Halide::Target(target));
            },
            120);
        if (defaults.contains("error"))
            throw std::runtime_error(p + ": " + defaults["error"].get<std::string>());
        if (defaults.empty()) continue;  // nothing to tune
        tuned.push_back(p);
        auto [t_default, why] = measure(p, defaults, 300);
        if (!std::isfinite(t_default))
            throw std::runtime_error(p + " with default schedules failed: " + why);
        best[p] = defaults;
        t_best[p] = t_default;
        order.push_back(p);
        record["pipelines"][p] = defaults;
        record["measured_ms"][p] = json{{"default", t_default}, {"tuned", t_default}};
        std::snprintf(line, sizeof line, "%-22s default schedules: %.2f ms", p.c_str(), t_default);
        log(line);
    }
    save();
    std::sort(order.begin(), order.end(),
              [&](const auto &a, const auto &b) { return t_best[a] > t_best[b]; });
    auto accept = [&](const std::string &p, const json &knobs, double t) {
        best[p] = knobs;
        t_best[p] = t;
        record["pipelines"][p] = knobs;
        record["measured_ms"][p]["tuned"] = t;
        save();
    };
    // Phase 2a: the algorithm, a whole pipeline at a time: every 3×3 stage switched to
    // Winograd F(4×4), then F(2×2) (each stage's first neighbors, with its register block).
    // One measurement each finds the largest gain before the knob-by-knob search.
    for (const std::string &p : order) {
        for (const char *algorithm : {"winograd4", "winograd2"}) {
            if (out_of_time()) break;
            const json knobs = in_child(
                [&] {
                    gen::PipelineDef def = build(p, best[p]);
                    json k = best[p];
                    for (const auto &stage : best[p].items()) {
                        for (const json &n : knob_neighbors_for(def, stage.key(), stage.value(),
                                                                width, Halide::Target(target))) {
                            if (n.value("algorithm", "") != algorithm) continue;
                            k[stage.key()] = n;
                            break;
                        }
                    }
                    return k;
                },
                120);
            if (knobs.contains("error") || knobs == best[p]) continue;
            const auto [t, error] = measure(p, knobs, 300);
            const bool better = t < 0.97 * t_best[p];
            std::snprintf(
                line, sizeof line, "%-22s every 3x3 stage %-10s: %s%s", p.c_str(), algorithm,
                std::isfinite(t) ? (std::to_string(t).substr(0, 7) + " ms").c_str() : error.c_str(),
                better ? "  (best so far)" : "");
            log(line);
            if (better) accept(p, knobs, t);
        }
    }
    // Phase 2: the hand-written schedules' knobs, stage by stage, one knob at a time.
    for (const std::string &p : order) {
        const json stages = best[p];
        for (const auto &stage_item : stages.items()) {
            const std::string stage = stage_item.key();
            for (int pass = 0; pass < 2 && !out_of_time(); ++pass) {
                const json neighbors = in_child(
                    [&] {
                        gen::PipelineDef def = build(p, best[p]);
                        return json(knob_neighbors_for(def, stage, best[p][stage], width,
                                                       Halide::Target(target)));
                    },
                    120);
                bool improved = false;
                for (const json &candidate : neighbors) {
                    if (out_of_time()) break;
                    json knobs = best[p];
                    knobs[stage] = candidate;
                    const auto [t, error] = measure(p, knobs, 300);
                    const bool better = t < 0.97 * t_best[p];
                    std::snprintf(line, sizeof line, "%-22s %-34s %s: %s%s", p.c_str(),
                                  stage.c_str(), candidate.dump().c_str(),
                                  std::isfinite(t)
                                      ? (std::to_string(t).substr(0, 7) + " ms").c_str()
                                      : error.c_str(),
                                  better ? "  (best so far)" : "");
                    log(line);
                    if (better) {
                        accept(p, knobs, t);
                        improved = true;
                    }
                }
                if (!improved) break;
            }
        }
    }
    // Phase 3: Halide's autoschedulers, with whatever budget is left.
    if (o.autoschedulers) {
        for (const std::string &p : order) {
            json tried = json::object();
            for (const std::string &a : autoschedulers_for(Halide::Target(target))) {
                if (out_of_time()) break;
                const json knobs{{"autoscheduler", a}, {"batch", o.batch}};
                // The budget bounds the whole search, slow autoschedulers included.
                const double left = std::max(10.0, o.budget_seconds - elapsed());
                const auto [t, error] = measure(p, knobs, std::min(o.autoscheduler_timeout, left));
                tried[a] = std::isfinite(t) ? json(t) : json(error);
                const bool better = t < 0.97 * t_best[p];
                std::snprintf(line, sizeof line, "%-22s autoscheduler %-12s: %s%s", p.c_str(),
                              a.c_str(),
                              std::isfinite(t) ? (std::to_string(t).substr(0, 7) + " ms").c_str()
                                               : error.c_str(),
                              better ? "  (best so far)" : "");
                log(line);
                if (better) accept(p, knobs, t);
            }
            record["measured_ms"][p]["autoschedulers"] = tried;
            save();
        }
    }
    for (const std::string &p : tuned) {
        std::snprintf(line, sizeof line, "%-22s tuned: %.2f ms (default %.2f ms, %.2fx)", p.c_str(),
                      t_best[p], record["measured_ms"][p]["default"].get<double>(),
                      record["measured_ms"][p]["default"].get<double>() / t_best[p]);
        log(line);
    }
    record["tuned"]["complete"] = !out_of_time();
    save();
    return record;
}

}  // namespace fernn::sched
