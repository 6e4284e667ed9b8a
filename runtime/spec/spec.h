// The JSON model spec (version 1): parsing, validation, normalization and the quantities
// derived from it (parameter names and shapes, FLOPs). The field reference is specs/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/spec/flow_spec.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

constexpr int kSpecVersion = 1;

struct TrainingSpec {
    int batch = 128;
    double lr = 1e-3;
    int epochs = 50;
    double clip_grad_norm = 1.0;  // 0 turns clipping off
    int data_velocity_range = 2;
};

// One learnable tensor, named and shaped as in the reference PyTorch state_dict (OIHW).
// "cell.conv_u.weight" -> "cell_conv_u_weight": a parameter's argument name in the pipelines
// (arguments must be C identifiers). The generators name arguments and the runtime binds them.
std::string argument_name(const std::string &parameter_name);

struct ParamInfo {
    std::string name;
    std::vector<int64_t> shape;
    int64_t numel() const;
    int64_t fan_in() const;  // in_channels * kh * kw, for PyTorch-default initialization
};

struct Spec {
    std::string file;  // where it was read from, for messages
    std::string name;
    int in_channels = 1, height = 28, width = 28;
    FlowSpec flow;
    int lift_kernel = 3;
    int hidden = 128, rec_kernel = 3;
    std::string activation = "relu";
    std::string pool = "max";
    int dec_layers = 4, dec_kernel = 3, out_channels = 1;
    int input_frames = 10, output_frames = 10;
    TrainingSpec training;

    int num_velocities() const { return static_cast<int>(flow.velocities.size()); }

    // The spec with every default filled in and velocity ranges expanded, in canonical key
    // order: what manifests record and what hashes are taken of.
    json normalized() const;
    // Hash of everything that changes the compiled library (all but `training`), hex.
    std::string model_hash() const;

    std::vector<ParamInfo> parameters() const;
    int64_t parameter_count() const;
    // Multiply-adds ×2 per sample for one encoder step and one decoder step (cell + readout).
    double flops_encoder_step() const;
    double flops_decoder_step() const;
};

// Reads and validates a spec file; each entry of `sets` is "PATH=VALUE" (VALUE is JSON, or a
// bare string) and replaces the value at that JSON path before validation.
Spec load_spec(const std::string &file, const std::vector<std::string> &sets = {});
Spec parse_spec(const json &doc, const JsonSource &source);

// Applies one "PATH=VALUE" override to `doc`, recording it in `source`.
void apply_override(json &doc, const std::string &assignment, JsonSource &source);

// 64-bit FNV-1a, as 16 hex digits: stable across platforms and runs (cache keys, manifests).
std::string fnv1a_hex(const std::string &bytes);

}  // namespace fernn
