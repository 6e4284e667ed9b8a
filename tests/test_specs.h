// Small valid specs for tests to modify (runtime only: no compiler needed to include this).
#pragma once

#include "runtime/spec/spec.h"

namespace fernn::test {

inline Spec spec_from(const json &doc) {
    return parse_spec(doc, JsonSource{"<test>", {}});
}

// A small valid spec to modify in tests.
inline json tiny_spec_json() {
    return json::parse(R"({
      "fernn": 1, "name": "t",
      "input": {"channels": 1, "height": 6, "width": 7},
      "flow": {"group": "translation", "velocities": {"range": 1}, "boundary": "circular"},
      "lifting": {"kernel": 3},
      "recurrence": {"channels": 4, "kernel": 3, "activation": "relu"},
      "readout": {"pool": "max", "decoder": {"layers": 1, "kernel": 3}, "channels": 1},
      "sequence": {"input_frames": 3, "output_frames": 2}
    })");
}

// A small valid classifier (spec version 2): BatchNorm lifting, two layers, classes head.
inline json tiny_classifier_json() {
    return json::parse(R"({
      "fernn": 2, "name": "c",
      "input": {"channels": 1, "height": 7, "width": 6},
      "flow": {"group": "translation", "velocities": {"range": 1}, "boundary": "circular"},
      "lifting": {"layers": [
        {"channels": 3, "kernel": 5, "padding": "zeros", "batchnorm": true, "activation": "relu"},
        {"channels": 4, "kernel": 3, "padding": "zeros", "batchnorm": true, "activation": "relu"}]},
      "recurrence": {"layers": [
        {"channels": 4, "kernel": 3, "activation": "tanh"},
        {"channels": 5, "kernel": 3, "activation": "tanh",
         "input": {"kernel": 3, "padding": "zeros", "batchnorm": true, "activation": "relu"}}]},
      "readout": {"kind": "classes", "classes": 3, "pool": "max", "time": "last", "space": "mean"},
      "sequence": {"input_frames": 4}
    })");
}

// A small valid rotation-flow frame predictor (C_4, the four quarter turns, 7×7 frames).
inline json tiny_rotation_json() {
    return json::parse(R"({
      "fernn": 2, "name": "r",
      "input": {"channels": 1, "height": 7, "width": 7},
      "flow": {"group": "rotation", "orientations": 4, "velocities": [0, 90, 180, 270],
               "boundary": "zeros", "interpolation": "bilinear"},
      "lifting": {"kernel": 3},
      "recurrence": {"channels": 2, "kernel": 3, "activation": "relu"},
      "readout": {"pool": "max", "decoder": {"layers": 1, "kernel": 3}, "channels": 1},
      "sequence": {"input_frames": 3, "output_frames": 2}
    })");
}

}  // namespace fernn::test
