// run.json: what a training run directory was started with (the normalized spec, its model
// hash and the training settings), so that --resume, eval --run and predict --run need nothing
// else. Read as strictly as a spec: a hand-edited or damaged record is an InputError naming the
// file and the field, never a crash in the trainer.
#pragma once

#include <string>

#include "runtime/parallel/communicator.h"
#include "runtime/spec/spec.h"
#include "runtime/training/train_settings.h"

namespace fernn {

struct RunRecord {
    Spec spec;
    TrainSettings settings;
    // The processes that trained it last (data parallelism; a resume may use another number).
    int world_size = 1;
};

RunRecord parse_run_record(const json &doc, const std::string &path);
// DIR/run.json; an InputError when DIR is not a training run.
RunRecord read_run_record(const std::string &dir);
// The same, read by rank 0 of `world` and sent to the others: only rank 0 needs to see DIR.
RunRecord read_run_record(const std::string &dir, Communicator &world);
void write_run_record(const std::string &dir, const RunRecord &run);

// Settings that depend on the spec (the data velocity range must fit its frames).
void check_settings(const TrainSettings &t, const Spec &spec, const std::string &where);

}  // namespace fernn
