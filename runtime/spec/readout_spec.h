// The `readout` section of a spec: which head reads the top recurrent layer. One registry of
// head kinds (filled in readout_spec.cpp); each kind also has a plan entry (runtime/plan/) and
// generators (generators/heads/), and a runtime part (runtime/model/heads/).
//   frames   the reference Seq2SeqFERNN decoder: pool over V, conv layers, a predicted frame
//            fed back as the next input; mean squared error
//   classes  the reference FERNN_Classifier: pool over V, the last step (or the mean over
//            steps), the spatial mean, a linear layer with bias -> logits; cross-entropy
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/flow_spec.h"

namespace fernn {

struct FramesReadout {
    std::string pool = "max";  // over the copies: "max" | "mean" | "sum"
    int decoder_layers = 4, decoder_kernel = 3;
    int channels = 1;  // of a predicted frame (= input.channels: predictions are fed back)
};

struct ClassesReadout {
    int classes = 2;
    std::string pool = "max";    // over the copies
    std::string time = "last";   // "last" | "mean" over steps
    std::string space = "mean";  // over pixels
};

struct ReadoutSpec {
    std::string kind = "frames";  // registry key
    FramesReadout frames;         // kind "frames"
    ClassesReadout classes;       // kind "classes"

    // The loss the head trains with: "mse" | "cross_entropy".
    std::string loss() const;
    // Whether the head predicts frames after the input (sequence.output_frames exists).
    bool predicts_frames() const { return kind == "frames"; }
    json normalized() const;
};

std::vector<std::string> readout_kinds();

ReadoutSpec parse_readout(ObjectReader &r, const FrameShape &frame, int version);

}  // namespace fernn
