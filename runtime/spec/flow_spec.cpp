#include "runtime/spec/flow_spec.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace fernn {

namespace {

using FlowParser = std::function<FlowSpec(ObjectReader &, const FrameShape &)>;

struct FlowGroup {
    FlowParser parse;
    int since_version;  // the spec format version that introduced the group
};

// 2-D translation flows: velocity (vx, vy) moves the hidden state by vx pixels right and vy
// pixels down per step, wrapping around the frame (torch.roll(h, shifts=(vy, vx))).
FlowSpec parse_translation(ObjectReader &flow, const FrameShape &frame) {
    FlowSpec spec;
    spec.group = "translation";
    spec.boundary = flow.choice("boundary", {"circular"});
    const std::string vpath = flow.path_of("velocities");
    const json &v = flow.raw("velocities");
    const JsonSource &source = flow.source();
    if (v.is_object()) {
        // {"range": R}: the grid {-R..R}², ordered as the reference (vx outer, vy inner).
        ObjectReader grid(v, vpath, source);
        // Digits must fit the frame, and |V| = (2R+1)^2 stays within kMaxCopies (R <= 31).
        int limit = (std::min(frame.height, frame.width) - 1) / 2;
        while ((2 * limit + 1) * (2 * limit + 1) > kMaxCopies) --limit;
        const int r = grid.integer("range", 0, limit);
        grid.finish();
        for (int vx = -r; vx <= r; ++vx) {
            for (int vy = -r; vy <= r; ++vy) spec.velocities.push_back({vx, vy});
        }
    } else if (v.is_array()) {
        if (v.empty()) source.fail(vpath, "the velocity list is empty; give at least one [vx, vy]");
        if (v.size() > size_t(kMaxCopies)) {
            source.fail(vpath, "the velocity list has " + std::to_string(v.size()) +
                                   " entries; allowed: at most " + std::to_string(kMaxCopies));
        }
        std::map<std::pair<int, int>, size_t> seen;  // velocity modulo the torus -> index
        for (size_t i = 0; i < v.size(); ++i) {
            const std::string ipath = vpath + "[" + std::to_string(i) + "]";
            if (!v[i].is_array() || v[i].size() != 2) {
                source.fail(ipath,
                            "got " + describe(v[i]) + "; allowed: a pair [vx, vy] of integers");
            }
            const int vx = require_integer(v[i][0], -(frame.width - 1), frame.width - 1,
                                           ipath + "[0]", source);
            const int vy = require_integer(v[i][1], -(frame.height - 1), frame.height - 1,
                                           ipath + "[1]", source);
            // Two velocities equal modulo the frame size move the state identically: their
            // copies would be duplicates, which is never what a user means.
            const std::pair<int, int> key{((vx % frame.width) + frame.width) % frame.width,
                                          ((vy % frame.height) + frame.height) % frame.height};
            auto [it, inserted] = seen.emplace(key, i);
            if (!inserted) {
                source.fail(ipath, "velocity " + describe(v[i]) + " moves the " +
                                       std::to_string(frame.width) + "x" +
                                       std::to_string(frame.height) + " frame exactly like " +
                                       vpath + "[" + std::to_string(it->second) +
                                       "]; allowed: velocities distinct modulo the frame size");
            }
            spec.velocities.push_back({vx, vy});
        }
    } else {
        source.fail(vpath,
                    "got " + describe(v) + "; allowed: {\"range\": R} or a list of [vx, vy] pairs");
    }
    return spec;
}

// G-RNN+ (the reference's GRNN_Plus): `copies` copies of the hidden state, each moved by its
// own learned kernel×kernel filter (a depthwise circular correlation shared over channels).
FlowSpec parse_learned(ObjectReader &flow, const FrameShape &frame) {
    FlowSpec spec;
    spec.group = "learned";
    spec.boundary = flow.choice("boundary", {"circular"});
    spec.learned_copies = flow.integer("copies", 1, kMaxCopies);
    spec.learned_kernel = read_odd_kernel(flow, "kernel", frame);
    return spec;
}

// The one registry of flow groups.
const std::map<std::string, FlowGroup> &registry() {
    static const std::map<std::string, FlowGroup> groups = {
        {"translation", {parse_translation, 1}},
        {"learned", {parse_learned, 2}},
    };
    return groups;
}

}  // namespace

std::vector<std::string> flow_groups() {
    std::vector<std::string> names;
    for (const auto &entry : registry()) names.push_back(entry.first);
    return names;
}

FlowSpec parse_flow(ObjectReader &flow, const FrameShape &frame, int version) {
    const std::string group = flow.choice("group", flow_groups());
    const FlowGroup &entry = registry().at(group);
    if (version < entry.since_version) {
        flow.source().fail(flow.path_of("group"),
                           "group \"" + group +
                               "\" needs \"fernn\": " + std::to_string(entry.since_version) +
                               " (this file is version " + std::to_string(version) + ")");
    }
    FlowSpec spec = entry.parse(flow, frame);
    flow.finish();
    return spec;
}

int read_odd_kernel(ObjectReader &r, const std::string &key, const FrameShape &frame) {
    const int limit = std::min(15, std::min(frame.height, frame.width) | 1);
    const int k = r.integer(key, 1, limit);
    if (k % 2 == 0) {
        r.source().fail(r.path_of(key), "value " + std::to_string(k) +
                                            " is even; allowed: an odd integer in 1.." +
                                            std::to_string(limit));
    }
    return k;
}

int FlowSpec::copies() const {
    return group == "learned" ? learned_copies : static_cast<int>(velocities.size());
}

std::vector<std::string> FlowSpec::labels() const {
    std::vector<std::string> out;
    if (group == "learned") {
        for (int i = 0; i < learned_copies; ++i) out.push_back("copy " + std::to_string(i));
        return out;
    }
    for (const auto &v : velocities) {
        std::string label = "(";
        for (size_t i = 0; i < v.size(); ++i) label += (i ? "," : "") + std::to_string(v[i]);
        out.push_back(label + ")");
    }
    return out;
}

json FlowSpec::normalized() const {
    if (group == "learned") {
        return json{{"group", group},
                    {"boundary", boundary},
                    {"copies", learned_copies},
                    {"kernel", learned_kernel}};
    }
    return json{{"group", group}, {"boundary", boundary}, {"velocities", velocities}};
}

}  // namespace fernn
