#include "runtime/training/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "runtime/data/sequence_source.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/model/cuda_probe.h"
#include "runtime/training/bptt_memory.h"
#include "runtime/training/data_parallel.h"
#include "runtime/training/interrupt.h"
#include "runtime/training/metrics_log.h"
#include "runtime/training/optimizer.h"
#include "runtime/training/process_memory.h"
#include "runtime/training/progress.h"

namespace fernn {

namespace fs = std::filesystem;

namespace {

// Data streams: training data depends on the run's seed; validation data never does, so runs
// with different seeds are compared on the same sequences.
constexpr uint64_t kTrainStream = 1, kValStream = 2;

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string exact(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

// Parameters and Adam's moments live on the model's device (in the optimizer); the host copies
// are written and read only at checkpoints.
struct TrainState {
    TrainState(const ModelLibrary &lib, const TrainSettings &t)
        : opt(lib, AdamConfig{t.lr, 0.9, 0.999, 1e-8}),
          stats(lib),
          weights{ParameterSet<float>::zeros(lib.plan()), RunningStats<float>::initial(lib.plan())},
          m(ParameterSet<float>::zeros(lib.plan())),
          v(ParameterSet<float>::zeros(lib.plan())) {}
    void to_device() {
        opt.params().upload(weights.params);
        stats.upload(weights.stats);
        opt.exp_avg().upload(m.data.data());
        opt.exp_avg_sq().upload(v.data.data());
    }
    void to_host() {
        opt.params().download(weights.params);
        stats.download(weights.stats);
        opt.exp_avg().download(m.data.data());
        opt.exp_avg_sq().download(v.data.data());
    }
    Optimizer<float> opt;
    Statistics<float> stats;  // BatchNorm running statistics
    ModelWeights<float> weights;
    ParameterSet<float> m, v;
    int64_t step = 0;
    double best_val = INFINITY;
    int64_t best_step = 0;
};

void write_checkpoints(const std::string &dir, TrainState &s, const ModelPlan &plan,
                       const Spec &spec, const TrainSettings &t) {
    s.to_host();
    // The model's own tensors (parameters, BatchNorm statistics, constants), then Adam's.
    TensorFile<float> state = checkpoint_tensors(plan, s.weights);
    for (size_t i = 0; i < plan.params.size(); ++i) {
        const auto &info = plan.params[i];
        for (const auto &[prefix, source] :
             {std::pair<std::string, const float *>{"adam.exp_avg.", s.m.tensor(i)},
              {"adam.exp_avg_sq.", s.v.tensor(i)}}) {
            Array<float> a(info.shape);
            std::copy(source, source + a.numel(), a.data.begin());
            state.tensors.emplace_back(prefix + info.name, std::move(a));
        }
    }
    state.metadata = {{"fernn.model_hash", spec.model_hash()},
                      {"fernn.step", std::to_string(s.step)},
                      {"fernn.adam_steps", std::to_string(s.opt.steps())},
                      {"fernn.best_val", exact(s.best_val)},
                      {"fernn.best_step", std::to_string(s.best_step)}};
    // The resume state first: a kill before the second write leaves last.safetensors one
    // checkpoint behind, never the resume state inconsistent.
    write_safetensors(dir + "/resume.safetensors", state);
    save_checkpoint(dir + "/last.safetensors", plan, s.weights,
                    {{"fernn.model_hash", spec.model_hash()},
                     {"fernn.step", std::to_string(s.step)},
                     {"fernn.seed", std::to_string(t.seed)}},
                    "F32");
}

// Restores parameters, statistics, Adam moments and counters saved by write_checkpoints.
void read_resume_state(const std::string &dir, const ModelPlan &plan, const Spec &spec,
                       TrainState &s) {
    const std::string path = dir + "/resume.safetensors";
    const TensorFile<float> file = read_safetensors<float>(path);
    const ResumeCounters counters = parse_resume_metadata(file.metadata, path, spec.model_hash());
    // A run never saves a non-finite state (divergence stops before the write), and second
    // moments and running variances are never negative: such values mean a damaged file, which
    // would otherwise surface steps later as a "diverged" run.
    auto check_values = [&](const std::string &name, const Array<float> &a, bool non_negative) {
        for (const float v : a.data) {
            if (!std::isfinite(v) || (non_negative && v < 0)) {
                throw InputError(
                    path + ": tensor " + name + " holds " + std::to_string(v) +
                    (non_negative ? "; allowed: finite values >= 0" : "; allowed: finite values") +
                    " (the file is damaged)");
            }
        }
    };
    for (size_t i = 0; i < plan.params.size(); ++i) {
        const auto &info = plan.params[i];
        for (const auto &[prefix, target] :
             {std::pair<std::string, float *>{"", s.weights.params.tensor(i)},
              {"adam.exp_avg.", s.m.tensor(i)},
              {"adam.exp_avg_sq.", s.v.tensor(i)}}) {
            const Array<float> *a = file.find(prefix + info.name);
            if (!a || a->shape != info.shape) {
                throw InputError(path + ": tensor " + prefix + info.name + " " +
                                 shape_text(info.shape) + " is missing or misshapen");
            }
            check_values(prefix + info.name, *a, prefix == "adam.exp_avg_sq.");
            std::copy(a->data.begin(), a->data.end(), target);
        }
    }
    for (const auto &b : plan.buffers) {
        const Array<float> *a = file.find(b.name);
        if (!a || a->shape != b.shape)
            throw InputError(path + ": tensor " + b.name + " is missing or misshapen");
        const std::string suffix = "running_var";
        check_values(b.name, *a,
                     b.name.size() >= suffix.size() &&
                         b.name.compare(b.name.size() - suffix.size(), suffix.size(), suffix) == 0);
        std::copy(a->data.begin(), a->data.end(), s.weights.stats.data.begin() + b.offset);
    }
    for (size_t i = 0; i < plan.counters.size(); ++i) {
        const Array<int64_t> *a = file.find_integer(plan.counters[i]);
        if (!a || a->numel() != 1 || a->data[0] < 0) {
            throw InputError(path + ": tensor " + plan.counters[i] +
                             " is missing, misshapen or negative");
        }
        s.weights.stats.counters[i] = a->data[0];
    }
    s.step = counters.step;
    s.opt.set_steps(counters.adam_steps);
    s.best_val = counters.best_val;
    s.best_step = counters.best_step;
    s.to_device();
}

// The validation score over `count` fixed sequences (BatchNorm in evaluation mode): the MSE of
// the predicted frames (lower is better) or the classification accuracy (higher is better;
// the mean cross-entropy is reported too). Each rank scores its share of the sequences; the
// sums meet in one allreduce.
struct Validation {
    double value = 0, loss = 0;
};

Validation validate(const SequenceModel<float> &model, Parameters<float> &params,
                    Statistics<float> &stats, const SequenceSource &source, int count, int batch,
                    int t_in, int t_out, DataParallel &ranks) {
    Validation v;
    SequenceModel<float>::Trace trace;  // one for all batches: its memory is reused
    SequenceModel<float>::Options eval;
    eval.t_out = t_out;
    ranks.for_each_batch(count, batch, [&](int64_t first, int n) {
        const SequenceBatch seq = source.batch(uint64_t(first), n);
        model.forward(params, &stats, slice_frames(seq.frames, 0, t_in), eval, trace);
        if (model.classifies()) {
            const auto scores = model.class_scores(trace, seq.labels);
            v.value += double(scores.correct);
            v.loss += scores.loss * n;
        } else {
            v.value += model.loss(trace, slice_frames(seq.frames, t_in, t_out)) * n;
        }
    });
    double sums[2] = {v.value, v.loss};
    ranks.sum(sums, 2);
    v.value = sums[0] / count;
    v.loss = sums[1] / count;
    return v;
}

// Rank 0's state (loaded or initialized there) to every rank, so that all start alike (also on
// nodes that do not see the run directory).
void share_state(DataParallel &ranks, TrainState &s) {
    if (ranks.size() > 1) {
        ranks.from_leader(s.weights.params.data.data(), s.weights.params.data.size());
        ranks.from_leader(s.weights.stats.data.data(), s.weights.stats.data.size());
        ranks.from_leader(s.weights.stats.counters.data(), s.weights.stats.counters.size());
        ranks.from_leader(s.m.data.data(), s.m.data.size());
        ranks.from_leader(s.v.data.data(), s.v.data.size());
        int64_t counters[3] = {s.step, s.opt.steps(), s.best_step};
        ranks.from_leader(counters, 3);
        s.step = counters[0];
        s.opt.set_steps(counters[1]);
        s.best_step = counters[2];
        ranks.world().broadcast(&s.best_val, sizeof s.best_val, 0);
    }
    s.to_device();
}

// Fault injection for the test suite: FERNN_TEST_PERTURB_RANK=R changes one parameter of rank R
// after the first step, as a rank that computed differently would, so that the agreement check
// can be seen to stop the run.
void perturb_for_test(DataParallel &ranks, TrainState &s) {
    const char *env = std::getenv("FERNN_TEST_PERTURB_RANK");
    if (!env || std::atoi(env) != ranks.rank() || ranks.size() < 2) return;
    Tensor<float> &flat = s.opt.params().flat();
    std::vector<float> values(flat.size());
    flat.download(values.data());
    values[0] += 1e-3f;
    flat.upload(values.data());
}

// How often the ranks compare their parameters (besides at every checkpoint).
constexpr int64_t kAgreementEvery = 100;

}  // namespace

int64_t steps_per_epoch(const DataSet &data, int batch) {
    return (data.count(Split::Train) + batch - 1) / batch;
}

SourceConfig source_config(const Spec &spec, int velocity_range,
                           const std::vector<int> &angular_velocities) {
    SourceConfig c;
    c.frames = spec.sequence.input_frames + spec.sequence.output_frames;
    c.channels = spec.input.channels;
    c.height = spec.input.height;
    c.width = spec.input.width;
    c.labels = spec.readout.kind == "classes";
    c.motion = spec.flow.data_motion();
    c.velocity_range = velocity_range;
    c.angular_velocities = angular_velocities;
    return c;
}

std::string validation_metric(const Spec &spec) {
    return spec.readout.kind == "classes" ? "val_accuracy" : "val_mse";
}

TrainReport train(const Spec &spec, const TrainSettings &t, const DataSet &data,
                  const std::string &dir, bool resume, int threads,
                  std::shared_ptr<const ModelLibrary> library, Communicator &world,
                  const std::function<void()> &started) {
    // Data parallelism: rank r of N computes sequences [r b, (r+1) b) of each global batch of
    // B = N b sequences; with N = 1 this is the whole batch.
    DataParallel ranks(world, library.get());
    // The command checked it with the option or file it came from (check_batch_shares).
    if (t.batch % ranks.size() != 0)
        throw std::logic_error("train: a batch the ranks cannot share");
    const int local_batch = t.batch / ranks.size();
    // The BPTT trace lives in host memory on the CPU, shared by the ranks on this machine; on
    // a GPU in its memory (one rank per GPU). Recomputation is chosen here when keeping every
    // state would not fit.
    const bool on_host = library->device() == "cpu";
    const int here = on_host ? std::min(launched_local_size(), ranks.size()) : 1;
    double budget = t.max_memory_bytes;
    std::string budget_source = "--max-memory";
    if (budget <= 0) {
        budget = 0.9 * (on_host ? available_memory_bytes() : cuda_device_memory_bytes());
        budget_source = on_host ? "90% of this machine's available memory" : "90% of the GPU's";
    }
    const BpttChoice bptt =
        choose_bptt(spec, local_batch, ranks.size(), here, t.recompute, budget, budget_source);
    if (threads > 0) library->set_threads(threads);
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    const bool classes = spec.readout.kind == "classes";
    SourceConfig train_config = source_config(spec, t.velocity_range, t.angular_velocities),
                 val_config = train_config;
    train_config.seed = t.seed;
    train_config.stream = kTrainStream;
    train_config.flips = true;  // clips: random horizontal flips, as the reference trains
    val_config.seed = kSplitSeed;
    val_config.stream = kValStream;
    const auto train_data = data.source(Split::Train, train_config);
    const auto val_data = data.source(Split::Val, val_config);
    // Generated data (Flowing MNIST) has as many validation sequences as asked; clips have
    // their split's.
    const int val_count = int(std::min<int64_t>(
        t.val_sequences, data.kind() == "clips" ? data.count(Split::Val) : int64_t(1) << 30));
    const int64_t epoch_steps = steps_per_epoch(data, t.batch);
    const int64_t val_every = t.val_every > 0 ? t.val_every : epoch_steps;

    SequenceModel<float> model(library);
    const ModelPlan &plan = model.plan();
    TrainState s(*library, t);
    const std::string metrics = dir + "/metrics.jsonl";
    // Rank 0 reads the run directory and sends its state to the others.
    // A run killed before its first checkpoint resumes from the start.
    double from_checkpoint_flag =
        ranks.leader() && resume && fs::exists(dir + "/resume.safetensors");
    ranks.world().broadcast(&from_checkpoint_flag, sizeof from_checkpoint_flag, 0);
    const bool from_checkpoint = from_checkpoint_flag != 0;
    if (ranks.leader()) {
        if (from_checkpoint) {
            read_resume_state(dir, plan, spec, s);
            if (fs::exists(metrics)) read_metrics(metrics);  // damaged metrics fail here
        } else {
            s.weights = init_weights<float>(plan, t.seed);
        }
    }
    share_state(ranks, s);
    if (s.step > t.steps) {
        throw InputError(dir + " is at step " + std::to_string(s.step) + ", beyond --steps " +
                         std::to_string(t.steps) + "; --steps counts the run's total steps");
    }
    // Everything is checked: from here on the run directory changes (rank 0 alone writes it).
    if (ranks.leader()) {
        if (started) started();
        // A kill during an atomic write leaves its temporary file behind: clear them.
        for (const auto &entry : fs::directory_iterator(dir)) {
            if (entry.path().filename().string().find(".tmp.") != std::string::npos)
                fs::remove(entry.path());
        }
        if (from_checkpoint && fs::exists(metrics)) {
            truncate_metrics(metrics, s.step);
        } else {
            write_file_atomically(metrics, "");
        }
    }
    const std::string metric = validation_metric(spec);
    auto validate_and_save_best = [&](Progress &progress) {
        const Validation v = validate(model, s.opt.params(), s.stats, *val_data, val_count,
                                      local_batch, t_in, t_out, ranks);
        // Frames: the lowest MSE; classes: the highest accuracy (the reference's choice).
        const bool best =
            std::isinf(s.best_val) || (classes ? v.value > s.best_val : v.value < s.best_val);
        if (best) {
            s.best_val = v.value;
            s.best_step = s.step;
        }
        if (!ranks.leader()) return;
        if (best) {
            s.opt.params().download(s.weights.params);
            s.stats.download(s.weights.stats);
            save_checkpoint(dir + "/best.safetensors", plan, s.weights,
                            {{"fernn.model_hash", spec.model_hash()},
                             {"fernn.step", std::to_string(s.step)},
                             {"fernn." + metric, exact(v.value)}},
                            "F32");
        }
        json line_json{{"step", s.step}, {metric, v.value}, {"best", best}};
        if (classes) line_json["val_loss"] = v.loss;
        append_metrics(metrics, line_json);
        char line[200];
        if (classes) {
            std::snprintf(line, sizeof line,
                          "step %lld: validation accuracy %.4f, cross-entropy %.5f%s",
                          (long long)s.step, v.value, v.loss,
                          best ? " (best so far, saved best.safetensors)" : "");
        } else {
            std::snprintf(line, sizeof line, "step %lld: validation MSE %.6f%s", (long long)s.step,
                          v.value, best ? " (best so far, saved best.safetensors)" : "");
        }
        progress.message(line);
    };

    TrainReport report;
    const int64_t first = s.step;
    Progress progress(t.steps, first, "step", ranks.leader());
    progress.message(
        "training " + spec.name + ": " + std::to_string(t.steps - first) + " steps from step " +
        std::to_string(first) + " (" + std::to_string(epoch_steps) + " steps/epoch, batch " +
        std::to_string(t.batch) +
        (ranks.size() > 1
             ? " over " + std::to_string(ranks.size()) + " ranks of " + std::to_string(local_batch)
             : std::string()) +
        ", " + std::to_string(data.count(Split::Train)) +
        (data.kind() == "clips" ? " training clips)" : " training digits)"));
    if (!ranks.averaging().empty())
        progress.message("gradients averaged over the ranks by " + ranks.averaging());
    if (ranks.size() > 1 && !s.stats.empty()) {
        progress.message("note: BatchNorm normalizes over each rank's " +
                         std::to_string(local_batch) +
                         " sequences (as PyTorch DDP without SyncBatchNorm) and its running "
                         "statistics are averaged over the ranks, so the trajectory differs from "
                         "one process's at the same global batch");
    }
    if (!from_checkpoint) validate_and_save_best(progress);  // where training starts from
    double data_seconds = 0, step_seconds = 0, loss_value = 0;
    Parameters<float> grads(*library);
    SequenceModel<float>::Trace trace;  // one for all steps: its memory is reused
    SequenceModel<float>::Options train_mode;
    train_mode.mode = Mode::Train;
    train_mode.keep_all = true;
    train_mode.recompute = bptt.recompute;
    train_mode.t_out = t_out;
    if (!bptt.note.empty()) progress.message(bptt.note);
    const auto run_start = Clock::now();
    const InterruptGuard interrupt;
    int64_t in_step = s.step + 1;  // the step being taken, for messages
    try {
        while (s.step < t.steps) {
            in_step = s.step + 1;
            const auto t0 = Clock::now();
            const SequenceBatch seq = train_data->batch(
                uint64_t(s.step) * t.batch + uint64_t(ranks.rank()) * local_batch, local_batch);
            const auto t1 = Clock::now();
            model.forward(s.opt.params(), &s.stats, slice_frames(seq.frames, 0, t_in), train_mode,
                          trace);
            const Array<float> targets = slice_frames(seq.frames, t_in, t_out);
            loss_value = model.backward(s.opt.params(), {&targets, &seq.labels}, trace, grads);
            // The means over the global batch: of the gradients and BatchNorm's running statistics
            // (each rank's share is equal), of the loss; the correct count, and whether any rank
            // was asked to stop (Ctrl-C, SIGTERM), so that all stop after the same step.
            const auto sync_start = Clock::now();
            ranks.average(grads.flat());
            if (!s.stats.empty()) ranks.average(s.stats.current().flat());
            double step_sums[3] = {
                loss_value, classes ? double(model.class_scores(trace, seq.labels).correct) : 0,
                double(interrupt.signal())};
            ranks.sum(step_sums, 3);
            const double sync_ms = 1e3 * seconds(sync_start, Clock::now());
            loss_value = step_sums[0] / ranks.size();
            const double accuracy = classes ? step_sums[1] / t.batch : NAN;
            const int stop_signal = step_sums[2] == 0    ? 0
                                    : interrupt.signal() ? interrupt.signal()
                                                         : SIGTERM;
            // A non-finite loss stops before the update; non-finite gradients are seen in the
            // update's norm. Either way no checkpoint is written from this step on.
            const double norm =
                std::isfinite(loss_value) ? s.opt.step(grads, t.clip_grad_norm) : NAN;
            if (!std::isfinite(loss_value) || !std::isfinite(norm)) {
                progress.finish();
                // Exit code 2: the cause is in what the user chose (rate, clipping, data, a state
                // edited by hand), and the message says what to change.
                throw InputError(
                    "the loss became " +
                    std::string(std::isfinite(loss_value) ? "finite but the gradient " : "") +
                    (std::isnan(loss_value) || std::isnan(norm) ? "NaN" : "infinite") +
                    " at step " + std::to_string(s.step + 1) +
                    "; nothing was saved for it, the last good checkpoint is " + dir +
                    "/last.safetensors (try a lower --lr or a --clip value)");
            }
            ++s.step;
            if (s.step == first + 1) perturb_for_test(ranks, s);
            const auto t2 = Clock::now();
            data_seconds += seconds(t0, t1);
            step_seconds += seconds(t0, t2);
            const double rate = t.batch / std::max(seconds(t0, t2), 1e-9);
            json step_json{{"step", s.step},
                           {"epoch", double(s.step) / epoch_steps},
                           {"loss", loss_value},
                           {"grad_norm", norm},
                           {"sequences_per_second", rate},
                           {"data_ms", 1e3 * seconds(t0, t1)},
                           {"step_ms", 1e3 * seconds(t0, t2)}};
            if (classes) step_json["accuracy"] = accuracy;
            // The collectives' share of the step, waiting for slower ranks included.
            if (!ranks.averaging().empty()) step_json["sync_ms"] = sync_ms;
            if (ranks.leader()) append_metrics(metrics, step_json);
            char status[160];
            const double seq_per_s =
                (s.step - first) * double(t.batch) / std::max(seconds(run_start, t2), 1e-9);
            if (classes) {
                std::snprintf(status, sizeof status,
                              "epoch %.2f | loss %.5f | acc %.3f | %.1f seq/s",
                              double(s.step) / epoch_steps, loss_value, accuracy, seq_per_s);
            } else {
                std::snprintf(status, sizeof status, "epoch %.2f | loss %.5f | %.1f seq/s",
                              double(s.step) / epoch_steps, loss_value, seq_per_s);
            }
            progress.update(s.step, status);

            const bool validation = s.step % val_every == 0 || s.step == t.steps;
            const bool checkpoint = validation || stop_signal;
            // The ranks compare their parameters before anything is saved from them.
            if (checkpoint || s.step % kAgreementEvery == 0)
                ranks.check_agreement(s.opt.params().flat(),
                                      s.stats.empty() ? nullptr : &s.stats.current().flat());
            if (validation) validate_and_save_best(progress);
            // At a stop, the resume state at this very step.
            if (checkpoint && ranks.leader()) write_checkpoints(dir, s, plan, spec, t);
            if (stop_signal) {
                report.interrupted_by = stop_signal;
                break;
            }
        }
    } catch (const CommunicationError &e) {
        progress.finish();
        throw CommunicationError("step " + std::to_string(in_step) + ": " + e.what() +
                                 "; the checkpoints in " + dir +
                                 " are complete: continue with fernn train --resume " + dir);
    }
    progress.finish();
    report.first_step = first;
    report.steps = s.step;
    report.last_loss = loss_value;
    report.best_val = s.best_val;
    report.metric = metric;
    report.best_step = s.best_step;
    report.seconds = seconds(run_start, Clock::now());
    report.data_share = step_seconds > 0 ? data_seconds / step_seconds : 0;
    report.sequences_per_second =
        step_seconds > 0 ? (s.step - first) * double(t.batch) / step_seconds : 0;
    report.peak_memory_gib = peak_memory_gib();
    return report;
}

}  // namespace fernn
