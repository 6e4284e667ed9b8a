#include "runtime/training/evaluate.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "runtime/data/sequence_source.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/formats/npy.h"
#include "runtime/training/data_parallel.h"
#include "runtime/training/progress.h"
#include "runtime/training/trainer.h"

namespace fernn {

namespace {

constexpr uint64_t kTestStream = 3, kLengthStream = 4, kVelocityStream = 1000;

// Per-sequence, per-frame MSE of predictions against the target frames: [b][t].
std::vector<std::vector<double>> frame_errors(const Array<float> &pred,
                                              const Array<float> &target) {
    const int64_t B = pred.shape[0], T = pred.shape[1];
    const int64_t frame = pred.numel() / (B * T);
    std::vector<std::vector<double>> err(B, std::vector<double>(T, 0.0));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
            double s = 0;
            const float *p = &pred.data[(b * T + t) * frame],
                        *y = &target.data[(b * T + t) * frame];
            for (int64_t i = 0; i < frame; ++i) s += double(p[i] - y[i]) * double(p[i] - y[i]);
            err[b][t] = s / frame;
        }
    return err;
}

// Runs `count` sequences of gen in batches; returns per-sequence per-frame errors and keeps
// the first batch's inputs, targets and predictions (on rank 0, whose share starts at 0). Each
// rank runs its share; every rank gets every sequence's errors.
struct Run {
    std::vector<std::vector<double>> errors;
    Array<float> inputs, targets, predictions;
};

Run run(const SequenceModel<float> &model, Parameters<float> &params, Statistics<float> &stats,
        const SequenceSource &source, int count, int batch, int t_in, int t_out,
        DataParallel &ranks) {
    Run r;
    SequenceModel<float>::Trace trace;  // one for all batches: its memory is reused
    SequenceModel<float>::Options eval;
    eval.t_out = t_out;
    // Each sequence's errors at its place, zeros elsewhere: the sum over ranks gathers them.
    std::vector<double> all(size_t(count) * size_t(t_out), 0.0);
    ranks.for_each_batch(count, batch, [&](int64_t first, int n) {
        const Array<float> seq = source.batch(uint64_t(first), n).frames;
        const Array<float> x = slice_frames(seq, 0, t_in), y = slice_frames(seq, t_in, t_out);
        model.forward(params, &stats, x, eval, trace);
        const Array<float> p = model.predictions(trace);
        const auto errors = frame_errors(p, y);
        for (int i = 0; i < n; ++i)
            std::copy(errors[size_t(i)].begin(), errors[size_t(i)].end(),
                      all.begin() + (first + i) * t_out);
        if (first == 0) {
            r.inputs = x;
            r.targets = y;
            r.predictions = p;
        }
    });
    ranks.sum(all.data(), all.size());
    for (int i = 0; i < count; ++i)
        r.errors.emplace_back(all.begin() + int64_t(i) * t_out,
                              all.begin() + int64_t(i + 1) * t_out);
    return r;
}

// The first k test sequences as (k, 3, frames, C, H, W): rows input, truth and prediction;
// the input row holds frames 1..t_in, the others t_in+1..t_in+t_out, NaN where a row is
// shorter. tools/plot_results.py draws it as strip.png with its rows and frames labelled.
json write_strip(const std::string &out_dir, const Run &r, int k) {
    const int64_t C = r.inputs.shape[2], H = r.inputs.shape[3], W = r.inputs.shape[4];
    const int64_t t_in = r.inputs.shape[1], t_out = r.targets.shape[1];
    k = int(std::min<int64_t>(k, r.inputs.shape[0]));
    const int64_t cols = std::max(t_in, t_out), frame = C * H * W;
    Array<float> strip({k, 3, cols, C, H, W});
    std::fill(strip.data.begin(), strip.data.end(), NAN);
    auto paste = [&](const Array<float> &a, int64_t b, int64_t t, int64_t row) {
        const float *src = a.data.data() + (b * a.shape[1] + t) * frame;
        std::copy(src, src + frame, strip.data.data() + ((b * 3 + row) * cols + t) * frame);
    };
    for (int b = 0; b < k; ++b) {
        for (int64_t t = 0; t < t_in; ++t) paste(r.inputs, b, t, 0);
        for (int64_t t = 0; t < t_out; ++t) {
            paste(r.targets, b, t, 1);
            paste(r.predictions, b, t, 2);
        }
    }
    write_npy(out_dir + "/strip.npy", strip);
    return json{{"file", "strip.npy"},
                {"rows", {"input", "truth", "prediction"}},
                {"input_frames", t_in},
                {"output_frames", t_out}};
}

// The test MSE of a frame predictor on clips (length and velocity generalization need
// generated data).
json evaluate_frames_on_clips(const SequenceModel<float> &model, const ModelWeights<float> &weights,
                              const EvalSettings &s, const std::string &out_dir,
                              DataParallel &ranks) {
    const Spec &spec = model.spec();
    Parameters<float> params(model.library());
    params.upload(weights.params);
    Statistics<float> stats(model.library());
    stats.upload(weights.stats);
    const std::unique_ptr<DataSet> data = open_data(s.data);
    SourceConfig c = source_config(spec, s.velocity_range, s.angular_velocities);
    c.seed = kSplitSeed;
    c.stream = kTestStream;
    const auto test = data->source(Split::Test, c);
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    const int64_t count = data->count(Split::Test);
    SequenceModel<float>::Trace trace;
    SequenceModel<float>::Options eval;
    eval.t_out = t_out;
    double total = 0;
    ranks.for_each_batch(count, s.batch, [&](int64_t first, int n) {
        const SequenceBatch b = test->batch(uint64_t(first), n);
        model.forward(params, &stats, slice_frames(b.frames, 0, t_in), eval, trace);
        total += model.loss(trace, slice_frames(b.frames, t_in, t_out)) * n;
    });
    ranks.sum(&total, 1);
    json results{{"model", spec.name},        {"model_hash", spec.model_hash()},
                 {"spec", spec.normalized()}, {"settings", s.to_json()},
                 {"dataset", data->name()},   {"test_mse", total / double(count)},
                 {"test_sequences", count}};
    if (ranks.leader()) {
        std::filesystem::create_directories(out_dir);
        write_file_atomically(out_dir + "/results.json", results.dump(2) + "\n");
    }
    return results;
}

}  // namespace

json EvalSettings::to_json() const {
    json j{{"data", data},
           {"sequences", sequences},
           {"length_frames", length_frames},
           {"velocity_sequences", velocity_sequences},
           {"batch", batch}};
    if (angular_velocities.empty()) {
        j["data_velocity_range"] = velocity_range;
        j["velocity_max"] = velocity_max;
    } else {
        j["data_angular_velocities"] = angular_velocities;
        j["test_angular_velocities"] = test_angular_velocities;
    }
    return j;
}

int default_length_frames(const Spec &spec) {
    // The paper's tests: 70 predicted frames on Rotating MNIST; 30 on Flowing MNIST (fernn's
    // choice, three times the training horizon of the paper's specs).
    return spec.flow.data_motion() == DataMotion::Rotation ? 70 : 30;
}

json evaluate(const SequenceModel<float> &model, const ModelWeights<float> &weights,
              const EvalSettings &s, const std::string &out_dir, Communicator &world) {
    DataParallel ranks(world);
    if (model.classifies()) return evaluate_classifier(model, weights, s, out_dir, ranks);
    const Spec &spec = model.spec();
    if (s.data.rfind("clips:", 0) == 0)
        return evaluate_frames_on_clips(model, weights, s, out_dir, ranks);
    // Rank 0 writes the results; every rank computes its share of each set of sequences.
    const bool writes = ranks.leader();
    auto write = [&](const std::string &name, const std::string &text) {
        if (writes) write_file_atomically(out_dir + "/" + name, text);
    };
    Parameters<float> params(model.library());  // on the model's device, once
    params.upload(weights.params);
    Statistics<float> stats(model.library());
    stats.upload(weights.stats);
    const std::unique_ptr<DataSet> data = open_data(s.data);
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    if (writes) std::filesystem::create_directories(out_dir);
    json results{{"model", spec.name},
                 {"model_hash", spec.model_hash()},
                 {"spec", spec.normalized()},
                 {"settings", s.to_json()},
                 {"dataset", data->dir()}};
    // Test digits moving as the training data did (the flow group's motion, the run's
    // velocities); every evaluation below changes only the length or the velocities.
    SourceConfig cfg = source_config(spec, s.velocity_range, s.angular_velocities);
    cfg.seed = kSplitSeed;
    auto sequences = [&](const SourceConfig &c, uint64_t stream, int count, int frames_out) {
        SourceConfig with = c;
        with.stream = stream;
        with.frames = t_in + frames_out;
        return run(model, params, stats, *data->source(Split::Test, with), count, s.batch, t_in,
                   frames_out, ranks);
    };

    // The mean over sequences and predicted frames of a run at the training horizon.
    auto mean_mse = [&](const Run &r) {
        double m = 0;
        for (const auto &e : r.errors)
            for (double x : e) m += x;
        return m / (double(r.errors.size()) * t_out);
    };

    // Test MSE at the training horizon.
    const Run test = sequences(cfg, kTestStream, s.sequences, t_out);
    results["test_mse"] = mean_mse(test);
    results["test_sequences"] = test.errors.size();
    if (writes) {
        results["strip"] = write_strip(out_dir, test, s.strip_sequences);
        std::fprintf(stderr, "test MSE %.6f over %zu sequences\n",
                     results["test_mse"].get<double>(), test.errors.size());
    }

    // Length generalization.
    const int length_frames = s.length_frames > 0 ? s.length_frames : default_length_frames(spec);
    const Run length = sequences(cfg, kLengthStream, s.sequences, length_frames);
    json mean = json::array(), stdev = json::array();
    std::ostringstream csv;
    csv << "t,mean_mse,std_mse\n";
    for (int t = 0; t < length_frames; ++t) {
        double m = 0, m2 = 0;
        for (const auto &e : length.errors) {
            m += e[t];
            m2 += e[t] * e[t];
        }
        m /= length.errors.size();
        const double sd = std::sqrt(std::max(0.0, m2 / length.errors.size() - m * m));
        mean.push_back(m);
        stdev.push_back(sd);
        csv << t + 1 << "," << m << "," << sd << "\n";
    }
    results["length_generalization"] = {{"mean", mean},
                                        {"std", stdev},
                                        {"train_frames", t_out},
                                        {"sequences", length.errors.size()}};
    write("length_generalization.csv", csv.str());
    if (writes)
        std::fprintf(stderr, "length generalization: MSE at frame 1 %.5f, %d %.5f, %d %.5f\n",
                     mean[0].get<double>(), t_out, mean[t_out - 1].get<double>(), length_frames,
                     mean.back().get<double>());

    // Velocity generalization: both digits at one velocity, a grid reaching past the training
    // data's.
    std::ostringstream vcsv;
    if (cfg.motion == DataMotion::Rotation) {
        const std::vector<int> &omegas = s.test_angular_velocities;
        json mse = json::array();
        vcsv << "omega,mse\n";
        Progress progress(int(omegas.size()), 0, "angular velocity", writes);
        for (size_t i = 0; i < omegas.size(); ++i) {
            SourceConfig fixed = cfg;
            fixed.fixed_angular_velocity = omegas[i];
            const double m =
                mean_mse(sequences(fixed, kVelocityStream + i, s.velocity_sequences, t_out));
            mse.push_back(m);
            vcsv << omegas[i] << "," << m << "\n";
            progress.update(int(i + 1), std::to_string(omegas[i]) + " deg/frame");
        }
        progress.finish();
        results["angular_velocity_generalization"] = {
            {"omega", omegas},
            {"mse", mse},
            {"train_velocities", s.angular_velocities},
            {"sequences_per_velocity", s.velocity_sequences}};
    } else {
        const int vmax = s.velocity_max >= 0 ? s.velocity_max : s.velocity_range + 2;
        json grid = json::array(), axis = json::array();
        vcsv << "vy,vx,mse\n";
        Progress progress((2 * vmax + 1) * (2 * vmax + 1), 0, "velocity", writes);
        int cell = 0;
        for (int v = -vmax; v <= vmax; ++v) axis.push_back(v);
        for (int vy = -vmax; vy <= vmax; ++vy) {
            json row = json::array();
            for (int vx = -vmax; vx <= vmax; ++vx) {
                SourceConfig fixed = cfg;
                fixed.fixed_velocity = std::make_pair(vx, vy);
                const double m =
                    mean_mse(sequences(fixed, kVelocityStream + cell, s.velocity_sequences, t_out));
                row.push_back(m);
                vcsv << vy << "," << vx << "," << m << "\n";
                progress.update(++cell, "(" + std::to_string(vx) + "," + std::to_string(vy) + ")");
            }
            grid.push_back(row);
        }
        progress.finish();
        results["velocity_generalization"] = {{"vx", axis},
                                              {"vy", axis},
                                              {"mse", grid},
                                              {"train_range", s.velocity_range},
                                              {"sequences_per_velocity", s.velocity_sequences}};
    }
    write("velocity_generalization.csv", vcsv.str());
    write("results.json", results.dump(2) + "\n");
    return results;
}

}  // namespace fernn
