// `fernn eval` for classifiers: test accuracy and mean cross-entropy; the confusion matrix
// (confusion.csv: row = true class, column = predicted; confusion.png: rows normalized, white =
// 1); velocity generalization of accuracy: the test data moving with velocities from ranges
// 0..m (Flowing MNIST: each digit's velocity uniform in [-d, d]²; clips: the reference's
// per-clip shift with range d), velocity_accuracy.csv; for rotation flows accuracy per angular
// velocity of the turning test digits instead. All test data are fixed: the same
// sequences for every model and run.
#include <filesystem>
#include <functional>
#include <sstream>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/png.h"
#include "runtime/training/data_parallel.h"
#include "runtime/training/evaluate.h"
#include "runtime/training/progress.h"
#include "runtime/training/trainer.h"

namespace fernn {

namespace {

constexpr uint64_t kTestStream = 3, kVelocityStream = 2000;

struct Scores {
    int64_t count = 0, correct = 0;
    double loss = 0;                              // summed over sequences
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
};

// Each rank scores its share of the sequences; every rank gets the sums.
Scores score(const SequenceModel<float> &model, Parameters<float> &params, Statistics<float> &stats,
             const SequenceSource &source, int64_t count, int batch, DataParallel &ranks) {
    const int K = model.spec().readout.classes.classes;
    const int t_in = model.spec().sequence.input_frames;
    Scores s;
    s.confusion.assign(size_t(K), std::vector<int64_t>(size_t(K), 0));
    SequenceModel<float>::Trace trace;
    const SequenceModel<float>::Options eval;  // BatchNorm's running statistics
    ranks.for_each_batch(count, batch, [&](int64_t first, int n) {
        const SequenceBatch b = source.batch(uint64_t(first), n);
        model.forward(params, &stats, slice_frames(b.frames, 0, t_in), eval, trace);
        const auto scores = model.class_scores(trace, b.labels);
        const Array<float> z = model.logits(trace);
        for (int i = 0; i < n; ++i) {
            const float *row = &z.data[size_t(i) * K];
            const int predicted = int(std::max_element(row, row + K) - row);
            ++s.confusion[size_t(b.labels[size_t(i)])][size_t(predicted)];
        }
        s.correct += scores.correct;
        s.loss += scores.loss * n;
        s.count += n;
    });
    // Counts below 2^53 are exact in doubles.
    std::vector<double> sums{double(s.count), double(s.correct), s.loss};
    for (const auto &row : s.confusion) sums.insert(sums.end(), row.begin(), row.end());
    ranks.sum(sums.data(), sums.size());
    s.count = int64_t(sums[0]);
    s.correct = int64_t(sums[1]);
    s.loss = sums[2];
    for (size_t i = 0; i < size_t(K) * size_t(K); ++i)
        s.confusion[i / size_t(K)][i % size_t(K)] = int64_t(sums[3 + i]);
    return s;
}

void write_confusion(const std::string &out_dir, const std::vector<std::vector<int64_t>> &m) {
    const int K = int(m.size()), cell = 24;
    std::ostringstream csv;
    csv << "true\\predicted";
    for (int k = 0; k < K; ++k) csv << "," << k;
    csv << "\n";
    std::vector<float> img(size_t(K * cell) * size_t(K * cell), 0.0f);
    for (int r = 0; r < K; ++r) {
        int64_t total = 0;
        for (int64_t v : m[size_t(r)]) total += v;
        csv << r;
        for (int c = 0; c < K; ++c) {
            const int64_t v = m[size_t(r)][size_t(c)];
            csv << "," << v;
            const float level = total ? float(v) / float(total) : 0.0f;
            for (int y = 0; y < cell; ++y)
                for (int x = 0; x < cell; ++x)
                    img[size_t(r * cell + y) * size_t(K * cell) + size_t(c * cell + x)] = level;
        }
        csv << "\n";
    }
    write_file_atomically(out_dir + "/confusion.csv", csv.str());
    write_gray_png(out_dir + "/confusion.png", K * cell, K * cell, img);
}

// Accuracy and cross-entropy of the test data drawn with each of `values` set by `vary` (a
// velocity range, or one angular velocity for every digit): {column: values, "accuracy",
// "cross_entropy"}, and out_dir/velocity_accuracy.csv with those columns.
json accuracy_sweep(const SequenceModel<float> &model, Parameters<float> &params,
                    Statistics<float> &stats, const DataSet &data, const SourceConfig &c,
                    const std::string &column, const std::vector<int> &values,
                    const std::function<void(SourceConfig &, int)> &vary, int64_t count, int batch,
                    const std::string &out_dir, DataParallel &ranks) {
    json accuracy = json::array(), loss = json::array();
    std::ostringstream csv;
    csv << column << ",accuracy,cross_entropy\n";
    Progress progress(int(values.size()), 0, column, ranks.leader());
    for (size_t i = 0; i < values.size(); ++i) {
        SourceConfig v = c;
        vary(v, values[i]);
        v.stream = kVelocityStream + uint64_t(i);
        const Scores r =
            score(model, params, stats, *data.source(Split::Test, v), count, batch, ranks);
        const double acc = double(r.correct) / double(r.count), ce = r.loss / double(r.count);
        accuracy.push_back(acc);
        loss.push_back(ce);
        csv << values[i] << "," << acc << "," << ce << "\n";
        progress.update(int(i + 1), column + " " + std::to_string(values[i]));
    }
    progress.finish();
    if (ranks.leader()) write_file_atomically(out_dir + "/velocity_accuracy.csv", csv.str());
    return json{{column, values}, {"accuracy", accuracy}, {"cross_entropy", loss}};
}

}  // namespace

json evaluate_classifier(const SequenceModel<float> &model, const ModelWeights<float> &weights,
                         const EvalSettings &s, const std::string &out_dir, DataParallel &ranks) {
    const Spec &spec = model.spec();
    Parameters<float> params(model.library());  // on the model's device, once
    params.upload(weights.params);
    Statistics<float> stats(model.library());
    stats.upload(weights.stats);
    const std::unique_ptr<DataSet> data = open_data(s.data);
    const bool clips = data->kind() == "clips";
    // Generated data: as many sequences as asked; clips: the whole test split.
    const int64_t count = clips ? data->count(Split::Test) : s.sequences;
    if (ranks.leader()) std::filesystem::create_directories(out_dir);
    json results{{"model", spec.name},
                 {"model_hash", spec.model_hash()},
                 {"spec", spec.normalized()},
                 {"settings", s.to_json()},
                 {"dataset", data->name()}};

    SourceConfig c = source_config(spec, s.velocity_range, s.angular_velocities);
    c.seed = kSplitSeed;
    c.stream = kTestStream;
    const Scores test =
        score(model, params, stats, *data->source(Split::Test, c), count, s.batch, ranks);
    results["test_accuracy"] = double(test.correct) / double(test.count);
    results["test_loss"] = test.loss / double(test.count);
    results["test_sequences"] = test.count;
    results["confusion"] = test.confusion;
    if (ranks.leader()) {
        write_confusion(out_dir, test.confusion);
        std::fprintf(stderr, "test accuracy %.4f, cross-entropy %.5f over %lld sequences\n",
                     results["test_accuracy"].get<double>(), results["test_loss"].get<double>(),
                     (long long)test.count);
    }

    if (c.motion == DataMotion::Rotation) {
        if (clips) {
            // Clips are not turned (only translations are applied to them): nothing to sweep.
            if (ranks.leader())
                std::fprintf(stderr, "clips are not turned: no angular velocity sweep\n");
        } else {
            json sweep = accuracy_sweep(
                model, params, stats, *data, c, "omega", s.test_angular_velocities,
                [](SourceConfig &v, int w) { v.fixed_angular_velocity = w; }, count, s.batch,
                out_dir, ranks);
            sweep["train_velocities"] = s.angular_velocities;
            sweep["sequences_per_velocity"] = count;
            results["angular_velocity_accuracy"] = sweep;
        }
    } else {
        const int vmax = s.velocity_max >= 0 ? s.velocity_max : 3;
        std::vector<int> ranges;
        for (int d = 0; d <= vmax; ++d) ranges.push_back(d);
        json sweep = accuracy_sweep(
            model, params, stats, *data, c, "velocity_range", ranges,
            [](SourceConfig &v, int d) { v.velocity_range = d; }, count, s.batch, out_dir, ranks);
        sweep["train_range"] = s.velocity_range;
        sweep["sequences_per_range"] = count;
        results["velocity_accuracy"] = sweep;
    }
    if (ranks.leader()) write_file_atomically(out_dir + "/results.json", results.dump(2) + "\n");
    return results;
}

}  // namespace fernn
