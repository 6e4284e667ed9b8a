#include "runtime/spec/readout_spec.h"

#include <functional>
#include <map>

namespace fernn {

namespace {

const std::vector<std::string> kPools{"max", "mean", "sum"};

void parse_frames(ObjectReader &r, const FrameShape &frame, ReadoutSpec &spec) {
    FramesReadout &f = spec.frames;
    f.pool = r.choice("pool", kPools);
    ObjectReader decoder = r.object("decoder");
    f.decoder_layers = decoder.integer("layers", 0, 64);
    f.decoder_kernel = read_odd_kernel(decoder, "kernel", frame);
    decoder.finish();
    f.channels = r.integer("channels", 1, 64);
    // Each prediction is fed back as the next input frame, so it must have the input's shape.
    if (f.channels != frame.channels) {
        r.source().fail(r.path_of("channels"), "value " + std::to_string(f.channels) +
                                                   " differs from input.channels; allowed: " +
                                                   std::to_string(frame.channels) +
                                                   " (predictions are fed back as inputs)");
    }
}

void parse_classes(ObjectReader &r, const FrameShape &, ReadoutSpec &spec) {
    ClassesReadout &c = spec.classes;
    c.classes = r.integer("classes", 2, 100000);
    c.pool = r.choice("pool", kPools);
    c.time = r.choice("time", {"last", "mean"});
    c.space = r.choice("space", {"mean"});
}

struct HeadKind {
    std::function<void(ObjectReader &, const FrameShape &, ReadoutSpec &)> parse;
    int since_version;
};

// The one registry of readout kinds.
const std::map<std::string, HeadKind> &registry() {
    static const std::map<std::string, HeadKind> kinds = {
        {"frames", {parse_frames, 1}},
        {"classes", {parse_classes, 2}},
    };
    return kinds;
}

}  // namespace

std::vector<std::string> readout_kinds() {
    std::vector<std::string> out;
    for (const auto &entry : registry()) out.push_back(entry.first);
    return out;
}

std::string ReadoutSpec::loss() const {
    return kind == "classes" ? "cross_entropy" : "mse";
}

ReadoutSpec parse_readout(ObjectReader &r, const FrameShape &frame, int version) {
    ReadoutSpec spec;
    if (r.has("kind")) {
        if (version < 2) {
            r.source().fail(r.path_of("kind"),
                            "this key needs \"fernn\": 2 (this file is version " +
                                std::to_string(version) + ")");
        }
        spec.kind = r.choice("kind", readout_kinds());
    }
    registry().at(spec.kind).parse(r, frame, spec);
    r.finish();
    return spec;
}

json ReadoutSpec::normalized() const {
    if (kind == "classes") {
        return json{{"kind", kind},
                    {"classes", classes.classes},
                    {"pool", classes.pool},
                    {"time", classes.time},
                    {"space", classes.space}};
    }
    return json{{"kind", kind},
                {"pool", frames.pool},
                {"decoder", {{"layers", frames.decoder_layers}, {"kernel", frames.decoder_kernel}}},
                {"channels", frames.channels}};
}

}  // namespace fernn
