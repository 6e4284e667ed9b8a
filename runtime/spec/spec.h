// The JSON model spec: parsing, validation, normalization and the quantities derived from it.
// The spec is read in sections that mirror the JSON (input, flow, lifting, recurrence,
// readout, sequence, training), each parsed and normalized by its own code. Version 1 files
// are read too and normalize to version 2. The field reference is specs/README.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/spec/flow_spec.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/layers_spec.h"
#include "runtime/spec/readout_spec.h"

namespace fernn {

constexpr int kSpecVersion = 2;

struct InputSpec {
    int channels = 1, height = 28, width = 28;
};

struct SequenceSpec {
    int input_frames = 10;
    int output_frames = 0;  // frames heads only: predicted frames (T_out)
};

struct TrainingSpec {
    int batch = 128;
    double lr = 1e-3;
    int epochs = 50;
    double clip_grad_norm = 1.0;  // 0 turns clipping off
    // BPTT: keep every K-th hidden state and recompute the rest in the backward; 0 keeps all;
    // -1 ("auto") recomputes only when keeping all would not fit (runtime/training/bptt_memory.h).
    int recompute = -1;
    // Translating data (DataMotion::Translation): velocities in [-d, d]².
    int data_velocity_range = 2;
    // Turning data (DataMotion::Rotation): angular velocities in degrees per frame.
    std::vector<int> data_angular_velocities;
};

struct Spec {
    std::string file;  // where it was read from, for messages
    std::string name;
    InputSpec input;
    FlowSpec flow;
    LiftingSpec lifting;
    RecurrenceSpec recurrence;
    ReadoutSpec readout;
    SequenceSpec sequence;
    TrainingSpec training;

    // |V|: copies of each layer's hidden state.
    int copies() const { return flow.copies(); }
    int layers() const { return static_cast<int>(recurrence.layers.size()); }
    // Channels of the top recurrent layer (what the readout reads).
    int top_channels() const { return recurrence.layers.back().channels; }
    FrameShape frame() const { return {input.channels, input.height, input.width}; }

    // The spec with every default filled in and short forms expanded (velocity ranges, v1
    // lifting and recurrence), in canonical key order: what manifests record and what hashes
    // are taken of.
    json normalized() const;
    // Hash of everything that changes the compiled library (all but training and sequence).
    std::string model_hash() const;

    // Forward multiply-adds ×2 per sample: one encoder step (lifting and every recurrent
    // layer) and the head's work after one step.
    double flops_encoder_step() const;
    double flops_head_step() const;
};

// Reads and validates a spec file; each entry of `sets` is "PATH=VALUE" (VALUE is JSON, or a
// bare string) and replaces the value at that JSON path before validation.
Spec load_spec(const std::string &file, const std::vector<std::string> &sets = {});
Spec parse_spec(const json &doc, const JsonSource &source);

// The data velocity ranges frames of this size allow (limits.h, and digits must fit).
Limits<int64_t> data_velocity_limits(const InputSpec &input);

// Applies one "PATH=VALUE" override to `doc`, recording it in `source`.
void apply_override(json &doc, const std::string &assignment, JsonSource &source);

// 64-bit FNV-1a: stable across platforms and runs (cache keys, manifests, the ranks of a
// data-parallel run comparing their parameters).
uint64_t fnv1a(const void *data, size_t bytes);
// The same as 16 hex digits.
std::string fnv1a_hex(const std::string &bytes);

}  // namespace fernn
