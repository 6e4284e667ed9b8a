#include "runtime/spec/spec.h"

#include "runtime/groups/cyclic_basis.h"
#include "runtime/spec/angular_velocities.h"

#include <algorithm>
#include <cstdio>

namespace fernn {

Limits<int64_t> data_velocity_limits(const InputSpec &input) {
    return {0, std::min<int64_t>(limits::data_velocity_range.hi,
                                 (std::min(input.height, input.width) - 1) / 2)};
}

namespace {

// training.recompute: "auto" (-1) or a segment length in steps, 0 keeping every state.
int read_recompute(ObjectReader &r, const std::string &key) {
    const json &v = r.raw(key);
    if (v.is_string() && v.get_ref<const std::string &>() == "auto") return -1;
    if (!v.is_number_integer() || v.get<int64_t>() < limits::recompute.lo ||
        v.get<int64_t>() > limits::recompute.hi) {
        r.source().fail(r.path_of(key), "got " + describe(v) + "; allowed: \"auto\" or an integer in " +
                                            std::to_string(limits::recompute.lo) + ".." +
                                            std::to_string(limits::recompute.hi));
    }
    return int(v.get<int64_t>());
}

}  // namespace

Spec parse_spec(const json &doc, const JsonSource &source) {
    Spec s;
    s.file = source.file;
    ObjectReader top(doc, "", source);
    const int version = top.integer("fernn", 1, 1000);
    if (version > kSpecVersion) {
        source.fail("fernn", "spec version " + std::to_string(version) +
                                 " is not supported; allowed: 1.." + std::to_string(kSpecVersion));
    }
    s.name = top.identifier("name", 64);

    ObjectReader input = top.object("input");
    s.input.channels = input.integer("channels", 1, 64);
    s.input.height = input.integer("height", 1, 4096);
    s.input.width = input.integer("width", 1, 4096);
    input.finish();
    const FrameShape frame = s.frame();

    ObjectReader flow = top.object("flow");
    s.flow = parse_flow(flow, frame, version);

    // The recurrence first: the lifting's last layer must produce its first layer's channels.
    ObjectReader rec = top.object("recurrence");
    s.recurrence = parse_recurrence(rec, frame, s.flow, version);
    for (size_t i = 0; i < s.recurrence.layers.size(); ++i) {
        const int64_t elements = int64_t(s.flow.copies()) * s.recurrence.layers[i].channels *
                                 s.input.height * s.input.width;
        if (elements > kMaxStateElements) {
            source.fail("recurrence", "layer " + std::to_string(i) + "'s hidden state is |V| " +
                                          std::to_string(s.flow.copies()) + " x " +
                                          std::to_string(s.recurrence.layers[i].channels) +
                                          " channels x " + std::to_string(s.input.height) + "x" +
                                          std::to_string(s.input.width) + " = " +
                                          std::to_string(elements) +
                                          " values per sequence; allowed: at most " +
                                          std::to_string(kMaxStateElements) +
                                          " (fewer velocities, channels or pixels)");
        }
    }
    ObjectReader lifting = top.object("lifting");
    s.lifting = parse_lifting(lifting, frame, s.flow, s.recurrence, version);
    if (s.flow.steerable()) {
        // The plan samples each steerable conv's basis: bound its size before it is computed.
        const int n = s.flow.orientations;
        auto check_basis = [&](const std::string &path, int kernel, FieldKind in) {
            const int64_t values = cyclic_basis_elements_bound(n, kernel, in) * n *
                                   (in == FieldKind::Regular ? n : 1) * kernel * kernel;
            if (values > kMaxBasisValues) {
                source.fail(path, "kernel " + std::to_string(kernel) + " with " +
                                      std::to_string(n) + " orientations samples a basis of up to " +
                                      std::to_string(values) + " values; allowed: at most " +
                                      std::to_string(kMaxBasisValues) +
                                      " (a smaller kernel or fewer orientations)");
            }
        };
        const bool long_form = doc["recurrence"].contains("layers");
        check_basis(long_form ? "recurrence.layers[0].kernel" : "recurrence.kernel",
                    s.recurrence.layers[0].kernel, FieldKind::Regular);
        check_basis("lifting.kernel", s.lifting.layers[0].kernel, FieldKind::Trivial);
    }

    ObjectReader readout = top.object("readout");
    s.readout = parse_readout(readout, frame, version);

    ObjectReader seq = top.object("sequence");
    s.sequence.input_frames = int(seq.integer64("input_frames", limits::frames));
    // A classifier reads its input frames and predicts none.
    if (s.readout.predicts_frames())
        s.sequence.output_frames = int(seq.integer64("output_frames", limits::frames));
    seq.finish();

    // The data's motion key is the one of the flow group's data: a range of velocities for
    // translating data, a list of angular velocities for turning data; the other is refused.
    const bool turning = s.flow.data_motion() == DataMotion::Rotation;
    const char *motion_key = turning ? "data_angular_velocities" : "data_velocity_range";
    const char *other_key = turning ? "data_velocity_range" : "data_angular_velocities";
    if (top.has("training")) {
        ObjectReader tr = top.object("training");
        TrainingSpec d;
        s.training.batch =
            tr.has("batch") ? int(tr.integer64("batch", limits::batch)) : d.batch;
        s.training.lr = tr.has("lr") ? tr.number("lr", limits::lr) : d.lr;
        s.training.epochs =
            tr.has("epochs") ? int(tr.integer64("epochs", limits::epochs)) : d.epochs;
        s.training.clip_grad_norm = tr.has("clip_grad_norm")
                                        ? tr.number("clip_grad_norm", limits::clip_grad_norm)
                                        : d.clip_grad_norm;
        if (tr.has("recompute")) s.training.recompute = read_recompute(tr, "recompute");
        if (tr.has(other_key)) {
            source.fail(tr.path_of(other_key),
                        std::string("flow group \"") + s.flow.group + "\" trains on " +
                            (turning ? "turning" : "translating") + " data; allowed: training." +
                            motion_key);
        }
        if (turning) {
            if (tr.has(motion_key)) {
                s.training.data_angular_velocities =
                    read_angular_velocities(tr.raw(motion_key), tr.path_of(motion_key), source);
            }
        } else if (tr.has(motion_key)) {
            s.training.data_velocity_range =
                int(tr.integer64(motion_key, data_velocity_limits(s.input)));
        }
        tr.finish();
    }
    if (turning && s.training.data_angular_velocities.empty())
        s.training.data_angular_velocities = default_data_angular_velocities();
    // The default range (2) shrinks to what small frames allow; a given one was checked above.
    s.training.data_velocity_range =
        int(std::min<int64_t>(s.training.data_velocity_range, data_velocity_limits(s.input).hi));
    top.finish();
    return s;
}

void apply_override(json &doc, const std::string &assignment, JsonSource &source) {
    const size_t eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw InputError("--set " + assignment +
                         ": expected PATH=VALUE, e.g. --set recurrence.channels=32");
    }
    const std::string path = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    // VALUE is JSON when it parses as JSON (numbers, lists, objects, quoted strings) and a
    // plain string otherwise, so `--set readout.pool=mean` needs no quotes.
    json value;
    try {
        value = parse_json_strict(text, "--set " + path);
    } catch (const InputError &e) {
        // Text that starts like JSON but does not parse is a mistake, not a string.
        const size_t first = text.find_first_not_of(" \t");
        if (first != std::string::npos && std::string("[{\"").find(text[first]) != std::string::npos)
            throw;
        value = text;
    }

    json *node = &doc;
    std::string walked;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string key =
            path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (key.empty())
            throw InputError("--set " + assignment + ": empty key in path \"" + path + "\"");
        if (!node->is_object()) {
            throw InputError(source.file + ": --set " + assignment + ": " +
                             (walked.empty() ? "the spec" : walked) + " is " + describe(*node) +
                             ", not an object; set " + (walked.empty() ? "it" : walked) +
                             " as a whole instead");
        }
        walked += (walked.empty() ? "" : ".") + key;
        if (dot == std::string::npos) {
            (*node)[key] = value;
            break;
        }
        node = &(*node)[key];  // creates missing objects; validation rejects unknown keys
        if (node->is_null()) *node = json::object();
        start = dot + 1;
    }
    source.overrides[path] = assignment;
}

Spec load_spec(const std::string &file, const std::vector<std::string> &sets) {
    JsonSource source{file, {}};
    json doc = read_json_file(file);
    for (const auto &assignment : sets) apply_override(doc, assignment, source);
    return parse_spec(doc, source);
}

json Spec::normalized() const {
    json seq{{"input_frames", sequence.input_frames}};
    if (readout.predicts_frames()) seq["output_frames"] = sequence.output_frames;
    json train{{"batch", training.batch},
               {"lr", training.lr},
               {"epochs", training.epochs},
               {"clip_grad_norm", training.clip_grad_norm},
               {"recompute", training.recompute < 0 ? json("auto") : json(training.recompute)}};
    if (flow.data_motion() == DataMotion::Rotation) {
        train["data_angular_velocities"] = training.data_angular_velocities;
    } else {
        train["data_velocity_range"] = training.data_velocity_range;
    }
    return json{
        {"fernn", kSpecVersion},
        {"name", name},
        {"input", {{"channels", input.channels}, {"height", input.height}, {"width", input.width}}},
        {"flow", flow.normalized()},
        {"lifting", lifting.normalized()},
        {"recurrence", recurrence.normalized()},
        {"readout", readout.normalized()},
        {"sequence", seq},
        {"training", train},
    };
}

uint64_t fnv1a(const void *data, size_t bytes) {
    const auto *p = static_cast<const unsigned char *>(data);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::string fnv1a_hex(const std::string &bytes) {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx",
                  static_cast<unsigned long long>(fnv1a(bytes.data(), bytes.size())));
    return out;
}

std::string Spec::model_hash() const {
    json model = normalized();
    model.erase("training");  // training settings do not change the compiled code
    model.erase("sequence");  // sequence lengths are run-time arguments of the runtime
    return fnv1a_hex(model.dump());
}

double Spec::flops_encoder_step() const {
    const double pixels = double(input.height) * input.width;
    double f = 0;
    for (const auto &l : lifting.layers) f += pixels * l.flops_per_pixel();
    const double copies_pixels = pixels * copies();
    for (const auto &l : recurrence.layers) {
        if (l.input) f += copies_pixels * l.input->flops_per_pixel();
        f += copies_pixels * 2.0 * l.channels * l.channels * l.kernel * l.kernel;
        if (flow.group == "learned") {
            f += copies_pixels * 2.0 * l.channels * flow.learned_kernel * flow.learned_kernel;
        }
    }
    return f;
}

double Spec::flops_head_step() const {
    const double pixels = double(input.height) * input.width;
    const double c = top_channels();
    if (readout.kind == "classes") return 2.0 * c * readout.classes.classes;
    const FramesReadout &r = readout.frames;
    const double k2 = double(r.decoder_kernel) * r.decoder_kernel;
    return 2.0 * pixels * k2 * (r.decoder_layers * c * c + r.channels * c);
}

}  // namespace fernn
