// The `flow` section of a spec: which flow group acts on the hidden state and with which
// velocities. Each group registers one parser here and one Halide module in generators/;
// nothing else in fernn knows what a group is.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"

namespace fernn {

struct FlowSpec {
    std::string group;     // registry key, e.g. "translation"
    std::string boundary;  // how the flow treats the frame edge, e.g. "circular"
    // One entry per velocity copy of the hidden state, in hidden-state order. The meaning of
    // the components is the group's (translation: {vx, vy} pixels per step).
    std::vector<std::vector<int>> velocities;
    // Human-readable names of the velocities in the same order, e.g. "(-1,0)".
    std::vector<std::string> labels() const;
    // Canonical JSON of the section with velocities expanded to an explicit list.
    json normalized() const;
};

struct FrameShape {
    int channels, height, width;
};

// Parses `flow` (at JSON path `path`) with the parser registered for its "group".
FlowSpec parse_flow(ObjectReader &flow, const FrameShape &frame);

// The registered group names, for error messages and docs.
std::vector<std::string> flow_groups();

}  // namespace fernn
