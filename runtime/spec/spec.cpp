#include "runtime/spec/spec.h"

#include <algorithm>
#include <cstdio>

namespace fernn {

int64_t ParamInfo::numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

int64_t ParamInfo::fan_in() const {
    return numel() / shape.at(0);
}

namespace {

// Odd kernel sizes only: PyTorch's Conv2d(padding=k//2, padding_mode='circular') keeps the
// frame size only for odd k, and the reference model relies on that.
int odd_kernel(ObjectReader &r, const std::string &key, const FrameShape &frame) {
    const int limit = std::min(15, std::min(frame.height, frame.width) | 1);
    const int k = r.integer(key, 1, limit);
    if (k % 2 == 0) {
        r.source().fail(r.path_of(key), "value " + std::to_string(k) +
                                            " is even; allowed: an odd integer in 1.." +
                                            std::to_string(limit));
    }
    return k;
}

}  // namespace

Spec parse_spec(const json &doc, const JsonSource &source) {
    Spec s;
    s.file = source.file;
    ObjectReader top(doc, "", source);
    const int version = top.integer("fernn", 1, 1000);
    if (version != kSpecVersion) {
        source.fail("fernn", "spec version " + std::to_string(version) +
                                 " is not supported; allowed: " + std::to_string(kSpecVersion));
    }
    s.name = top.string_matching("name", "[A-Za-z][A-Za-z0-9_]{0,63}",
                                 "a name of 1-64 letters, digits and '_', starting with a letter");

    ObjectReader input = top.object("input");
    s.in_channels = input.integer("channels", 1, 64);
    s.height = input.integer("height", 1, 4096);
    s.width = input.integer("width", 1, 4096);
    input.finish();
    const FrameShape frame{s.in_channels, s.height, s.width};

    ObjectReader flow = top.object("flow");
    s.flow = parse_flow(flow, frame);

    ObjectReader lifting = top.object("lifting");
    s.lift_kernel = odd_kernel(lifting, "kernel", frame);
    lifting.finish();

    ObjectReader rec = top.object("recurrence");
    s.hidden = rec.integer("channels", 1, 4096);
    s.rec_kernel = odd_kernel(rec, "kernel", frame);
    s.activation = rec.choice("activation", {"relu", "tanh", "sigmoid"});
    rec.finish();

    ObjectReader readout = top.object("readout");
    s.pool = readout.choice("pool", {"max", "mean", "sum"});
    ObjectReader decoder = readout.object("decoder");
    s.dec_layers = decoder.integer("layers", 0, 64);
    s.dec_kernel = odd_kernel(decoder, "kernel", frame);
    decoder.finish();
    s.out_channels = readout.integer("channels", 1, 64);
    // Each prediction is fed back as the next input frame, so it must have the input's shape.
    if (s.out_channels != s.in_channels) {
        source.fail("readout.channels",
                    "value " + std::to_string(s.out_channels) +
                        " differs from input.channels; allowed: " + std::to_string(s.in_channels) +
                        " (predictions are fed back as inputs)");
    }
    readout.finish();

    ObjectReader seq = top.object("sequence");
    s.input_frames = seq.integer("input_frames", 1, 10000);
    s.output_frames = seq.integer("output_frames", 1, 10000);
    seq.finish();

    if (top.has("training")) {
        ObjectReader tr = top.object("training");
        TrainingSpec d;
        s.training.batch = tr.integer_or("batch", 1, 1 << 20, d.batch);
        s.training.lr = tr.number_or("lr", 0.0, 10.0, d.lr, /*lo_open=*/true);
        s.training.epochs = tr.integer_or("epochs", 1, 1000000, d.epochs);
        s.training.clip_grad_norm = tr.number_or("clip_grad_norm", 0.0, 1e9, d.clip_grad_norm);
        s.training.data_velocity_range = tr.integer_or(
            "data_velocity_range", 0, (std::min(s.height, s.width) - 1) / 2, d.data_velocity_range);
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
    return json{
        {"fernn", kSpecVersion},
        {"name", name},
        {"input", {{"channels", in_channels}, {"height", height}, {"width", width}}},
        {"flow", flow.normalized()},
        {"lifting", {{"kernel", lift_kernel}}},
        {"recurrence", {{"channels", hidden}, {"kernel", rec_kernel}, {"activation", activation}}},
        {"readout",
         {{"pool", pool},
          {"decoder", {{"layers", dec_layers}, {"kernel", dec_kernel}}},
          {"channels", out_channels}}},
        {"sequence", {{"input_frames", input_frames}, {"output_frames", output_frames}}},
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

std::vector<ParamInfo> Spec::parameters() const {
    std::vector<ParamInfo> p;
    p.push_back({"cell.conv_u.weight", {hidden, in_channels, lift_kernel, lift_kernel}});
    p.push_back({"cell.conv_h.weight", {hidden, hidden, rec_kernel, rec_kernel}});
    // nn.Sequential numbering: conv, ReLU, conv, ReLU, ..., conv.
    for (int i = 0; i < dec_layers; ++i) {
        p.push_back({"decoder_conv." + std::to_string(2 * i) + ".weight",
                     {hidden, hidden, dec_kernel, dec_kernel}});
    }
    p.push_back({"decoder_conv." + std::to_string(2 * dec_layers) + ".weight",
                 {out_channels, hidden, dec_kernel, dec_kernel}});
    return p;
}

int64_t Spec::parameter_count() const {
    int64_t n = 0;
    for (const auto &p : parameters()) n += p.numel();
    return n;
}

double Spec::flops_encoder_step() const {
    const double pixels = double(height) * width;
    const double lift = pixels * hidden * in_channels * lift_kernel * lift_kernel;
    const double rec = pixels * num_velocities() * hidden * hidden * rec_kernel * rec_kernel;
    return 2.0 * (lift + rec);
}

double Spec::flops_decoder_step() const {
    const double pixels = double(height) * width;
    const double dec = pixels * dec_kernel * dec_kernel *
                       (double(dec_layers) * hidden * hidden + double(out_channels) * hidden);
    return flops_encoder_step() + 2.0 * dec;
}

std::string argument_name(const std::string &parameter_name) {
    std::string out = parameter_name;
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

}  // namespace fernn
