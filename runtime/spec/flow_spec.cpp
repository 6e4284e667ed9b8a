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

// Rotations of square frames by whole multiples of 360/N degrees per step (the reference's
// rotating_mnist_fp, escnn's rot2dOnR2(N)): copy v rolls its orientation channels by v·N/360
// and rotates the frame by v degrees about its centre, bilinear, zeros outside.
FlowSpec parse_rotation(ObjectReader &flow, const FrameShape &frame) {
    FlowSpec spec;
    spec.group = "rotation";
    spec.boundary = flow.choice("boundary", {"zeros"});
    spec.interpolation = flow.choice("interpolation", {"bilinear"});
    const JsonSource &source = flow.source();
    if (frame.height != frame.width) {
        source.fail(flow.path_of("group"),
                    "rotation flows need square frames; input is " + std::to_string(frame.width) +
                        "x" + std::to_string(frame.height) +
                        " (width x height); allowed: input.height equal to input.width");
    }
    spec.orientations = flow.integer("orientations", 1, 360);
    if (360 % spec.orientations != 0) {
        std::string divisors;
        for (int d = 1; d <= 360; ++d)
            if (360 % d == 0) divisors += (divisors.empty() ? "" : ", ") + std::to_string(d);
        source.fail(flow.path_of("orientations"),
                    "value " + std::to_string(spec.orientations) +
                        " does not divide 360; allowed: a divisor of 360 (" + divisors + ")");
    }
    // A velocity must turn the orientation channels by a whole number of steps: the reference
    // rolls by int(v·N/360), which would rotate the channels less than the frame.
    const int unit = 360 / spec.orientations;
    auto check_multiple = [&](int v, const std::string &path, const std::string &what) {
        if (v % unit != 0) {
            source.fail(path, what + " " + std::to_string(v) + " is not a multiple of 360/N = " +
                                  std::to_string(unit) + " (flow.orientations " +
                                  std::to_string(spec.orientations) + "); allowed: multiples of " +
                                  std::to_string(unit));
        }
    };
    const std::string vpath = flow.path_of("velocities");
    const json &v = flow.raw("velocities");
    if (v.is_object()) {
        // {"step": s, "range": R}: -R·s, ..., R·s, distinct modulo 360 (2·R·s < 360).
        ObjectReader grid(v, vpath, source);
        const int step = grid.integer("step", 1, 359);
        check_multiple(step, grid.path_of("step"), "step");
        const int range = grid.integer("range", 0, 359 / (2 * step));
        grid.finish();
        for (int i = -range; i <= range; ++i) spec.velocities.push_back({i * step});
    } else if (v.is_array()) {
        if (v.empty()) source.fail(vpath, "the velocity list is empty; give at least one angle");
        if (v.size() > 360) {
            source.fail(vpath, "the velocity list has " + std::to_string(v.size()) +
                                   " entries; allowed: at most 360 (distinct modulo 360)");
        }
        std::map<int, size_t> seen;  // velocity modulo 360 -> index
        for (size_t i = 0; i < v.size(); ++i) {
            const std::string ipath = vpath + "[" + std::to_string(i) + "]";
            const int deg = require_integer(v[i], -359, 359, ipath, source);
            check_multiple(deg, ipath, "velocity");
            auto [it, inserted] = seen.emplace(((deg % 360) + 360) % 360, i);
            if (!inserted) {
                source.fail(ipath, "velocity " + std::to_string(deg) +
                                       " turns the frame exactly like " + vpath + "[" +
                                       std::to_string(it->second) +
                                       "]; allowed: velocities distinct modulo 360");
            }
            spec.velocities.push_back({deg});
        }
    } else {
        source.fail(vpath, "got " + describe(v) +
                               "; allowed: {\"step\": s, \"range\": R} or a list of angles in "
                               "degrees per step");
    }
    return spec;
}

// The one registry of flow groups.
const std::map<std::string, FlowGroup> &registry() {
    static const std::map<std::string, FlowGroup> groups = {
        {"translation", {parse_translation, 1}},
        {"learned", {parse_learned, 2}},
        {"rotation", {parse_rotation, 2}},
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

int FlowSpec::field_size() const {
    return group == "rotation" ? orientations : 1;
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
    if (group == "rotation") {
        for (const auto &v : velocities) out.push_back(std::to_string(v[0]) + "deg");
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
    if (group == "rotation") {
        json angles = json::array();
        for (const auto &v : velocities) angles.push_back(v[0]);
        return json{{"group", group},
                    {"boundary", boundary},
                    {"orientations", orientations},
                    {"velocities", angles},
                    {"interpolation", interpolation}};
    }
    return json{{"group", group}, {"boundary", boundary}, {"velocities", velocities}};
}

}  // namespace fernn
