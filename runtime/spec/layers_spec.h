// The `lifting` and `recurrence` sections of a spec: convolution layers (conv, optional
// BatchNorm, activation) that lift each frame into the first recurrent layer's channels, and
// the stack of recurrent layers, each with the input convolution that reads the layer below.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runtime/spec/flow_spec.h"

namespace fernn {

// One conv (no bias) → optional BatchNorm2d → activation, as an nn.Sequential.
struct ConvLayerSpec {
    int in_channels = 0;  // derived: the channels of what the layer reads
    int channels = 0, kernel = 3;
    std::string padding = "circular";  // "zeros" | "circular"
    bool batchnorm = false;
    std::string activation = "none";  // "relu" | "tanh" | "sigmoid" | "none"

    // Multiply-adds ×2 per pixel.
    double flops_per_pixel() const;
    // The JSON of the layer; with_channels false for a layer input (its channels are the
    // layer's own).
    json normalized(bool with_channels) const;
};

struct LiftingSpec {
    std::vector<ConvLayerSpec> layers;
    // One C_N-steerable conv from the frame's channels (trivial fields) to the first layer's
    // regular fields (rotation flows); normalizes to the short form {"kernel": k}.
    bool steerable = false;
    // True for v1's {"kernel": k}: one conv with the flow's boundary as padding, nothing else.
    bool single_conv() const;
    json normalized() const;
};

struct RecurrentLayerSpec {
    // Channels of the layer's state: fields × the flow's field size (N for rotation, 1
    // otherwise); the spec gives the fields.
    int channels = 0, kernel = 3;
    int field_size = 1;
    int fields() const { return channels / field_size; }
    std::string activation = "relu";
    // Layers l >= 1 read layer l-1's new hidden state through this conv (per copy).
    std::optional<ConvLayerSpec> input;
    json normalized() const;
};

struct RecurrenceSpec {
    std::vector<RecurrentLayerSpec> layers;
    json normalized() const;
};

// The activations a spec may name (conv layers also allow "none").
const std::vector<std::string> &activation_names();

// `recurrence`: {"channels", "kernel", "activation"} (one layer) or {"layers": [...]}.
// `channels` counts fields of the flow's field size.
RecurrenceSpec parse_recurrence(ObjectReader &r, const FrameShape &frame, const FlowSpec &flow,
                                int version);

// `lifting`: {"kernel": k} (one conv to the first layer's channels, padded like the flow's
// boundary) or {"layers": [...]}, whose last layer must produce the first layer's channels.
// Steerable flows (rotation) lift with the one C_N-steerable conv of the short form.
LiftingSpec parse_lifting(ObjectReader &r, const FrameShape &frame, const FlowSpec &flow,
                          const RecurrenceSpec &recurrence, int version);

}  // namespace fernn
