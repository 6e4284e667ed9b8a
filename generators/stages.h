// What the algorithm hands to the schedules: the Funcs of a pipeline grouped by kind of stage.
// Generators fill these records and never schedule; schedules/ reads them and never define
// values, so one algorithm serves every target (CPU now, CUDA later) with other schedules.
#pragma once

#include <vector>

#include "generators/layout.h"

namespace fernn::gen {

// A circular convolution: `conv` is the reduction (pure 0, update over r = (ci, kx, ky));
// `owner` is the pointwise Func that reads conv at the same point (activation, bias, sum) and
// owns the loop nest in which the conv is computed tile by tile. has_v: dims (c,x,y,v,b).
struct ConvStage {
    Func owner, conv;
    RDom r;
    int out_channels, in_channels, kernel;
    bool has_v;
    Func pad;  // the padded input the conv reads (conv.h pad: circular or zeros)
};

// A weight gradient: `dw(co, ci, kx, ky)` reduces over r = (x, y[, v], b); `out(kx, ky, ci, co)`
// is the OIHW output that transposes it.
struct WeightGradStage {
    Func dw, out;
    RDom r;
    int out_channels, in_channels, kernel;
    bool has_v;
    Func pad;  // the padded input it reads
};

// A pointwise or small-reduction Func worth materializing once (repacked weights, the
// activation derivative, pooled features, ...).
struct RootStage {
    Func f;
    // Weights: (co, ci, kx, ky). Frame: (c, x, y, b). Hidden: (c, x, y, v, b).
    // Flat: 1-D over a parameter buffer (index var c). Scalar: 0-D, or small (y, b) reductions.
    // Small: any other shape with channels (or another vectorizable index) innermost: channel
    // statistics, row sums, pooled features, logits.
    enum Kind { Weights, Frame, Hidden, Scalar, Flat, Small } kind;
    int channels;  // extent of the innermost dimension (Weights: output channels)
};

struct Stages {
    std::vector<ConvStage> convs;
    std::vector<WeightGradStage> weight_grads;
    std::vector<RootStage> roots;
};

}  // namespace fernn::gen
