// The FERNN theorem checked on a compiled model: run a sequence and the same sequence moved by
// ν̂ (frame t acted on by t·ν̂, runtime/groups/flow_action.h); the hidden state of copy ν after
// frame t of the moved run must equal copy ν − ν̂ of the original, acted on by t·ν̂. Exact
// where the action is a pixel permutation (translations on the torus, quarter turns on square
// grids); elsewhere the deviation measures interpolation. Copies whose ν − ν̂ is not in V
// are not compared (the theorem says nothing about them); with |V| = 1 (a G-RNN) the copy is
// compared with itself, which asks for plain equivariance to the group.
#pragma once

#include <vector>

#include "runtime/model/sequence_model.h"

namespace fernn {

struct EquivarianceCheck {
    std::vector<double> layer_error;  // per layer: the largest relative deviation over frames
    double logits_change = 0;         // classifiers: relative change of the logits
    int compared_copies = 0;          // copies with a partner ν − ν̂ in V
    bool exact = false;               // the action permutes pixels: the theorem is exact
};

// x: (B, T, C, H, W); evaluation or training mode (BatchNorm statistics) as `mode` says.
template <typename T>
EquivarianceCheck check_equivariance(const SequenceModel<T> &model, const ModelWeights<T> &weights,
                                     const Array<T> &x, const std::vector<int> &nu, Mode mode);

// x with frame t of every sequence acted on by t·ν̂.
template <typename T>
Array<T> move_sequence(const FlowSpec &flow, const Array<T> &x, const std::vector<int> &nu);

}  // namespace fernn
