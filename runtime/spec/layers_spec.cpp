#include "runtime/spec/layers_spec.h"

namespace fernn {

namespace {

constexpr size_t kMaxLayers = 16;
constexpr int kMaxChannels = 4096;

// Fields of a conv layer other than its channels: kernel, padding, batchnorm, activation.
void read_conv_fields(ObjectReader &r, const FrameShape &frame, ConvLayerSpec &layer) {
    layer.kernel = read_odd_kernel(r, "kernel", frame);
    layer.padding = r.choice("padding", {"zeros", "circular"});
    layer.batchnorm = r.boolean("batchnorm");
    std::vector<std::string> allowed = activation_names();
    allowed.push_back("none");
    layer.activation = r.choice("activation", allowed);
}

// A v2-only form in a version-1 file.
[[noreturn]] void needs_version_2(const ObjectReader &r, const std::string &key, int version) {
    r.source().fail(r.path_of(key), "this form needs \"fernn\": 2 (this file is version " +
                                        std::to_string(version) + ")");
}

}  // namespace

const std::vector<std::string> &activation_names() {
    static const std::vector<std::string> names{"relu", "tanh", "sigmoid"};
    return names;
}

double ConvLayerSpec::flops_per_pixel() const {
    return 2.0 * channels * in_channels * kernel * kernel;
}

json ConvLayerSpec::normalized(bool with_channels) const {
    json j{{"kernel", kernel},
           {"padding", padding},
           {"batchnorm", batchnorm},
           {"activation", activation}};
    if (with_channels) j["channels"] = channels;
    return j;
}

bool LiftingSpec::single_conv() const {
    return layers.size() == 1 && !layers[0].batchnorm && layers[0].activation == "none";
}

json LiftingSpec::normalized() const {
    if (steerable) return json{{"kernel", layers.at(0).kernel}};
    json list = json::array();
    for (const auto &l : layers) list.push_back(l.normalized(true));
    return json{{"layers", list}};
}

json RecurrentLayerSpec::normalized() const {
    json j{{"channels", fields()}, {"kernel", kernel}, {"activation", activation}};
    if (input) j["input"] = input->normalized(false);
    return j;
}

json RecurrenceSpec::normalized() const {
    json list = json::array();
    for (const auto &l : layers) list.push_back(l.normalized());
    return json{{"layers", list}};
}

RecurrenceSpec parse_recurrence(ObjectReader &r, const FrameShape &frame, const FlowSpec &flow,
                                int version) {
    RecurrenceSpec spec;
    auto read_layer = [&](ObjectReader &l, size_t index) {
        RecurrentLayerSpec layer;
        layer.field_size = flow.field_size();
        layer.channels = l.integer("channels", 1, kMaxChannels) * layer.field_size;
        layer.kernel = read_odd_kernel(l, "kernel", frame);
        layer.activation = l.choice("activation", activation_names());
        if (index > 0) {
            ObjectReader in = l.object("input");
            ConvLayerSpec conv;
            conv.in_channels = spec.layers.back().channels;
            conv.channels = layer.channels;
            read_conv_fields(in, frame, conv);
            in.finish();
            layer.input = conv;
        }
        l.finish();
        spec.layers.push_back(layer);
    };
    if (r.has("layers")) {
        if (version < 2) needs_version_2(r, "layers", version);
        std::vector<ObjectReader> layers = r.objects("layers", kMaxLayers);
        // A layer input between regular fields would need a steerable conv stack (and
        // steerable BatchNorm); the reference's rotation model has one layer.
        if (flow.steerable() && layers.size() > 1) {
            r.source().fail(r.path_of("layers"),
                            "has " + std::to_string(layers.size()) + " layers; flow group \"" +
                                flow.group + "\" supports one recurrent layer; allowed: 1 layer");
        }
        for (size_t i = 0; i < layers.size(); ++i) read_layer(layers[i], i);
        r.finish();
    } else {
        read_layer(r, 0);  // v1: the section is the one layer
    }
    return spec;
}

LiftingSpec parse_lifting(ObjectReader &r, const FrameShape &frame, const FlowSpec &flow,
                          const RecurrenceSpec &recurrence, int version) {
    LiftingSpec spec;
    const int first = recurrence.layers.at(0).channels;
    if (!r.has("layers")) {
        ConvLayerSpec conv;
        conv.in_channels = frame.channels;
        conv.channels = first;
        conv.kernel = read_odd_kernel(r, "kernel", frame);
        conv.padding = flow.boundary;
        r.finish();
        spec.steerable = flow.steerable();
        spec.layers.push_back(conv);
        return spec;
    }
    if (version < 2) needs_version_2(r, "layers", version);
    if (flow.steerable()) {
        r.source().fail(r.path_of("layers"),
                        "flow group \"" + flow.group +
                            "\" lifts each frame with one C_N-steerable convolution; allowed: "
                            "the short form {\"kernel\": k}");
    }
    std::vector<ObjectReader> layers = r.objects("layers", kMaxLayers);
    for (size_t i = 0; i < layers.size(); ++i) {
        ObjectReader &l = layers[i];
        ConvLayerSpec conv;
        conv.in_channels = i == 0 ? frame.channels : spec.layers.back().channels;
        conv.channels = l.integer("channels", 1, kMaxChannels);
        read_conv_fields(l, frame, conv);
        l.finish();
        if (i + 1 == layers.size() && conv.channels != first) {
            l.source().fail(l.path_of("channels"),
                            "value " + std::to_string(conv.channels) +
                                " differs from the first recurrent layer's channels; allowed: " +
                                std::to_string(first) + " (the lifting feeds layer 0)");
        }
        spec.layers.push_back(conv);
    }
    r.finish();
    return spec;
}

}  // namespace fernn
