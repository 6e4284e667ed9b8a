// The `flow` section of a spec: which flow group acts on the hidden state, and so how many
// copies the hidden state has and how each copy is moved before the recurrent convolution.
// Each group is one parser in flow_spec.cpp's registry, one case of the plan's flow()
// (runtime/plan/plan.cpp: its parameters or constants) and one Halide module
// (generators/flows/, one entry in make_flow's table); nothing else knows what a group is.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"

namespace fernn {

// How the data a model learns from moves: translating digits (Flowing MNIST, the reference's
// shifted clips) or turning ones (Rotating MNIST).
enum class DataMotion { Translation, Rotation };

struct FrameShape {
    int channels, height, width;
};

struct FlowSpec {
    std::string group;     // registry key: "translation" | "learned" | "rotation"
    std::string boundary;  // how the flow and every convolution treat the frame edge:
                           // "circular" (translation, learned) or "zeros" (rotation)
    // translation: one (vx, vy) per copy, in hidden-state order (pixels per step).
    // rotation: one angular velocity per copy, {degrees per step}, counter-clockwise.
    std::vector<std::vector<int>> velocities;
    // learned (G-RNN+): `copies` copies, each moved by its own learned kernel×kernel filter.
    int learned_copies = 0, learned_kernel = 0;
    // rotation: N, the order of the rotation group C_N; the hidden state holds fields of N
    // orientation channels (the regular representation) and convolutions are C_N-steerable.
    int orientations = 1;
    std::string interpolation;  // rotation: how frames are resampled: "bilinear"

    // |V|: how many copies of the hidden state there are.
    int copies() const;
    // Channels per field of the hidden state: N for rotation, 1 otherwise. A layer of
    // `channels` fields holds channels × field_size() channels (channel f·N + n).
    int field_size() const;
    // True where convolutions between fields are C_N-steerable (built from escnn's basis).
    bool steerable() const { return group == "rotation"; }
    // What generated training data must show for this group's flows to matter.
    DataMotion data_motion() const {
        return group == "rotation" ? DataMotion::Rotation : DataMotion::Translation;
    }
    // Human-readable names of the copies in order, e.g. "(-1,0)" or "copy 3".
    std::vector<std::string> labels() const;
    // Canonical JSON of the section (velocity ranges expanded to an explicit list).
    json normalized() const;
};

// Parses `flow` with the parser registered for its "group". `version` is the spec's format
// version: groups added after version 1 are refused in version-1 files.
FlowSpec parse_flow(ObjectReader &flow, const FrameShape &frame, int version);

// The registered group names, for error messages and docs.
std::vector<std::string> flow_groups();

// An odd kernel size 1..min(15, frame rounded up to odd): PyTorch's
// Conv2d(k, padding=k//2) keeps the frame size only for odd k.
int read_odd_kernel(ObjectReader &r, const std::string &key, const FrameShape &frame);

}  // namespace fernn
