// The settings of a training run (data, steps, batch, optimizer, validation), as the command
// line gives them and run.json records them; the ranges are limits.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"

namespace fernn {

struct TrainSettings {
    std::string data = "mnist";
    int64_t steps = 0;  // the run's total steps
    int batch = 128;
    double lr = 1e-3;
    double clip_grad_norm = 1.0;
    uint64_t seed = 0;
    // How the training data move: translating data use velocity_range; turning data (rotation
    // flows) the angular velocities, which are then non-empty. run.json records the one in use.
    int velocity_range = 2;
    std::vector<int> angular_velocities;
    int64_t val_every = 0;  // steps between validations and checkpoints; 0: once per epoch
    int val_sequences = 256;
    // How BPTT fits in memory (bptt_memory.h); not recorded in run.json: neither changes the
    // results, and a resumed run may choose again. recompute: K >= 0 or kRecomputeAuto (-1).
    int recompute = -1;
    double max_memory_bytes = 0;  // what BPTT may use; 0: 90% of what the machine has

    json to_json() const;
    static TrainSettings from_json(const json &j, const std::string &file);
};

}  // namespace fernn
