// `fernn train`: BPTT training with Adam, gradient clipping, validation, checkpoints and exact
// resumption, for every head: frame prediction (MSE; the best checkpoint has the lowest
// validation MSE) and classification (cross-entropy; the highest validation accuracy), on
// Flowing MNIST or clips from files (runtime/data/sequence_source.h).
//
// A run directory holds:
//   run.json             the spec and settings of the run (resume reads them from here)
//   resume.safetensors   everything needed to continue: parameters, Adam moments, step, best
//                        validation so far; written atomically, first
//   last.safetensors     the latest parameters (reference state_dict names), written second
//   best.safetensors     the weights with the best validation score so far
//   metrics.jsonl        one JSON object per step and per validation
// Training sequence i is a pure function of (seed, i), so a resumed run sees the same data
// and ends with a byte-identical last.safetensors. Checkpoints hold BatchNorm's running
// statistics too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "runtime/data/sequence_source.h"
#include "runtime/model/sequence_model.h"
#include "runtime/parallel/communicator.h"
#include "runtime/training/resume_metadata.h"
#include "runtime/training/train_settings.h"

namespace fernn {

struct TrainReport {
    int64_t first_step = 0, steps = 0;  // the run went from first_step to steps
    double last_loss = 0, best_val = 0, seconds = 0, data_share = 0, sequences_per_second = 0;
    std::string metric;  // what best_val is: "val_mse" or "val_accuracy"
    int64_t best_step = 0;
    double peak_memory_gib = 0;
    // SIGINT or SIGTERM when the run stopped early at `steps`, its state saved there; else 0.
    int interrupted_by = 0;
};

// Starts a new run in run_dir (which must not hold one) or, with resume, continues it.
// threads: Halide worker threads (0: all cores). `started` runs once everything is checked
// (memory, data, the resume state), before anything in run_dir changes: the caller creates
// run_dir and records the run there, so a run that fails its checks leaves nothing behind.
// With a world of N ranks (data parallelism) every rank calls train() alike: rank r computes
// its share of each global batch of settings.batch sequences, the gradients are averaged over
// the ranks before every update, and rank 0 alone writes run_dir and calls `started`. The
// ranks must share the batch equally (the caller checks it with check_batch_shares).
TrainReport train(const Spec &spec, const TrainSettings &settings, const DataSet &data,
                  const std::string &run_dir, bool resume, int threads,
                  std::shared_ptr<const ModelLibrary> library, Communicator &world,
                  const std::function<void()> &started = nullptr);

// Epochs → steps: one epoch is ceil(training digits or clips / batch) steps.
int64_t steps_per_epoch(const DataSet &data, int batch);

// What a model reads from a source: its frames (T_in + T_out), shape, labels (classes), and
// the data's motion (the flow group's), here the run's or evaluation's velocities.
SourceConfig source_config(const Spec &spec, int velocity_range,
                           const std::vector<int> &angular_velocities);

}  // namespace fernn
