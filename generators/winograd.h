// Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional
// Neural Networks", 2016) for the 3×3 correlations of conv.h: the output is computed in tiles of
// m×m from (m+2)×(m+2) input tiles,
//   Y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A,
// summed over input channels in the transformed domain, where it is (m+2)² independent matrix
// products (output channels × input channels by input channels × tiles): (m+2)²/m²
// multiply-adds per output and input channel instead of 9. Its weight gradient is the adjoint
// of the same linear map, dw = Gᵀ [ Σ_tiles (A g Aᵀ) ⊙ (Bᵀ d B) ] G.
//
// The transforms are exact in real arithmetic; in floating point they round differently from the
// direct sum, more so for m = 4 (its points 0, ±1, ±2 scale values by up to 8). Whatever reads
// the input (a flow's shift, the padding) stays folded into the input transform's indexing.
#pragma once

#include "generators/conv.h"

namespace fernn::gen {

// The Vars of the tile-indexed Funcs (innermost first after channels):
//   U(co, ci, e, n), V(c, e, n, tx, ty[, v], b), M(c, e, n, tx, ty[, v], b),
//   output(c, wx, wy, tx, ty[, v], b): e, n index the (m+2)² transformed points, tx, ty the
//   tile, wx, wy the output within the tile.
struct WinogradDims {
    Var e{"we"}, n{"wn"}, tx{"tx"}, ty{"ty"}, wx{"wx"}, wy{"wy"};
};
const WinogradDims &winograd_dims();

// correlate() by F(m×m, 3×3), m = winograd_tile(algorithm): the same ConvStage, whose `conv` reads
// the output transform and whose `winograd` holds the transforms and the products (reduction r
// over input channels).
ConvStage correlate_winograd(const std::string &name, const Func &in, const Func &pad,
                             const Func &packed, int in_channels, int out_channels, bool has_v,
                             Type type, ConvAlgorithm algorithm);

// weight_grad() by F(m×m, 3×3): dw(co, ci, e, n) sums, over the tiles r = (tx, ty[, v], b), the
// gradient tiles transformed by A (winograd.output) times the input tiles transformed by Bᵀ
// (winograd.input); out(kx, ky, ci, co) = Gᵀ dw G. The gradient is zero beyond the frame (a
// partial last row of tiles).
WeightGradStage weight_grad_winograd(const std::string &name, const Func &g, const Func &in,
                                     const Func &pad, int out_channels, int in_channels,
                                     const Frame &frame, bool has_v, int velocities,
                                     const Expr &batch, Type type, ConvAlgorithm algorithm);

}  // namespace fernn::gen
