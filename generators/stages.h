// What the algorithm hands to the schedules: the Funcs of a pipeline grouped by kind of stage.
// Generators fill these records and never schedule; schedules/ reads them and never define
// values, so one algorithm serves every target (CPU now, CUDA later) with other schedules.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "generators/layout.h"

namespace fernn::gen {

// How a correlation is computed: directly (9 multiply-adds per output and input channel for
// 3×3), or by Winograd's minimal filtering F(m×m, 3×3) over tiles of m×m outputs (generators/
// winograd.h): (m+2)²/m² multiply-adds, 4 for m = 2 and 2.25 for m = 4, at the price of
// transforms and of rounding that grows with m. 3×3 kernels over frames that m divides only.
enum class ConvAlgorithm { Direct, Winograd2, Winograd4 };
// "direct", "winograd2", "winograd4": the names schedule records use.
const char *algorithm_name(ConvAlgorithm a);
// The algorithm of a name; false when there is none.
bool algorithm_from_name(const std::string &name, ConvAlgorithm &a);
int winograd_tile(ConvAlgorithm a);  // m; 1 for Direct

// The algorithm of each correlation and weight gradient, by stage name, as a schedule record
// chose it (absent: direct). It is fixed before the pipeline is built, because which Funcs
// compute a stage is part of the algorithm: a Func cannot be redefined once another reads it.
struct AlgorithmChoice {
    std::map<std::string, ConvAlgorithm> by_stage;
    ConvAlgorithm of(const std::string &stage) const {
        auto it = by_stage.find(stage);
        return it == by_stage.end() ? ConvAlgorithm::Direct : it->second;
    }
};

// The Funcs of a Winograd stage besides its output (see generators/winograd.h): the
// transformed filter U(co, ci, e, n), the transformed input tiles V(ci, e, n, tx, ty[, v], b)
// and their first pass along x, and the output transform's pass along x. For a correlation the
// products M(co, e, n, tile) summed over `r` (input channels) are the stage's `conv`'s input;
// for a weight gradient the transformed gradient tiles take the filter's place.
struct WinogradFuncs {
    int tile = 1;  // m
    Func filter, input_x, input, product, output_x, output;
};

// A circular convolution: `conv` is the reduction (pure 0, update over r = (ci, kx, ky));
// `owner` is the pointwise Func that reads conv at the same point (activation, bias, sum) and
// owns the loop nest in which the conv is computed tile by tile. has_v: dims (c,x,y,v,b).
struct ConvStage {
    Func owner, conv;
    RDom r;  // Winograd: input channels, the products' reduction
    int out_channels, in_channels, kernel;
    bool has_v;
    Func pad;  // the padded input the conv reads (conv.h pad: circular or zeros)
    ConvAlgorithm algorithm = ConvAlgorithm::Direct;
    WinogradFuncs winograd;  // Winograd only; conv then reads winograd.output
};

// A weight gradient: `dw(co, ci, kx, ky)` reduces over r = (x, y[, v], b); `out(kx, ky, ci, co)`
// is the OIHW output that transposes it.
// Winograd: dw(co, ci, e, n) is the sum over tiles r = (tx, ty[, v], b) of the transformed
// gradient tiles times the transformed input tiles, and out transforms it back (winograd.h).
struct WeightGradStage {
    Func dw, out;
    RDom r;
    int out_channels, in_channels, kernel;
    bool has_v;
    Func pad;  // the padded input it reads
    ConvAlgorithm algorithm = ConvAlgorithm::Direct;
    WinogradFuncs winograd;  // Winograd only
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
    AlgorithmChoice algorithms;  // given before the build; the rest the build fills
    std::vector<ConvStage> convs;
    std::vector<WeightGradStage> weight_grads;
    std::vector<RootStage> roots;
};

}  // namespace fernn::gen
