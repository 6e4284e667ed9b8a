#include "runtime/spec/spec.h"

#include <algorithm>
#include <cstdio>

namespace fernn {

Spec parse_spec(const json &doc, const JsonSource &source) {
    Spec s;
    s.file = source.file;
    ObjectReader top(doc, "", source);
    const int version = top.integer("fernn", 1, 1000);
    if (version > kSpecVersion) {
        source.fail("fernn", "spec version " + std::to_string(version) +
                                 " is not supported; allowed: 1.." + std::to_string(kSpecVersion));
    }
    s.name = top.string_matching("name", "[A-Za-z][A-Za-z0-9_]{0,63}",
                                 "a name of 1-64 letters, digits and '_', starting with a letter");

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
    s.recurrence = parse_recurrence(rec, frame, version);
    ObjectReader lifting = top.object("lifting");
    s.lifting = parse_lifting(lifting, frame, s.flow, s.recurrence, version);

    ObjectReader readout = top.object("readout");
    s.readout = parse_readout(readout, frame, version);

    ObjectReader seq = top.object("sequence");
    s.sequence.input_frames = seq.integer("input_frames", 1, 10000);
    // A classifier reads its input frames and predicts none.
    if (s.readout.predicts_frames())
        s.sequence.output_frames = seq.integer("output_frames", 1, 10000);
    seq.finish();

    if (top.has("training")) {
        ObjectReader tr = top.object("training");
        TrainingSpec d;
        s.training.batch = tr.integer_or("batch", 1, 1 << 20, d.batch);
        s.training.lr = tr.number_or("lr", 0.0, 10.0, d.lr, /*lo_open=*/true);
        s.training.epochs = tr.integer_or("epochs", 1, 1000000, d.epochs);
        s.training.clip_grad_norm = tr.number_or("clip_grad_norm", 0.0, 1e9, d.clip_grad_norm);
        s.training.data_velocity_range =
            tr.integer_or("data_velocity_range", 0,
                          (std::min(s.input.height, s.input.width) - 1) / 2, d.data_velocity_range);
        tr.finish();
    }
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
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;

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
    return json{
        {"fernn", kSpecVersion},
        {"name", name},
        {"input", {{"channels", input.channels}, {"height", input.height}, {"width", input.width}}},
        {"flow", flow.normalized()},
        {"lifting", lifting.normalized()},
        {"recurrence", recurrence.normalized()},
        {"readout", readout.normalized()},
        {"sequence", seq},
        {"training",
         {{"batch", training.batch},
          {"lr", training.lr},
          {"epochs", training.epochs},
          {"clip_grad_norm", training.clip_grad_norm},
          {"data_velocity_range", training.data_velocity_range}}},
    };
}

std::string fnv1a_hex(const std::string &bytes) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
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
