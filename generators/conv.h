// Circular cross-correlation, the one convolution of the model, with its two adjoints. Every
// convolution in fernn (lifting, recurrence, decoder, and all their gradients) is built here.
//
// Forward, as PyTorch Conv2d(k, padding=k//2, padding_mode='circular', bias=False):
//   out(co, x, y, ...) = Σ_{ci,kx,ky} w(co, ci, kx, ky) · in(ci, (x+kx-p) mod W, (y+ky-p) mod H,
//   ...)
// Input adjoint: the same correlation with the kernel flipped and its channels transposed.
// Weight adjoint: dw(co, ci, kx, ky) = Σ_{x,y,...} g(co, x, y, ...) · in(ci, (x+kx-p) mod W, ...).
// Both adjoints are gathers written by hand: Halide 14's propagate_adjoints turns modulo
// indexing into scatters and runs 15x slower (bench/RESULTS.md).
//
// Convolutions read their input through its extension (pad: circular, or zeros for the conv
// stacks that ask for it), materialized once per call like PyTorch's F.pad: every access in
// the inner loops is then affine (a constant offset per kernel tap and velocity), with no
// modulo arithmetic left to do there.
#pragma once

#include "generators/stages.h"

namespace fernn::gen {

// w(kx, ky, ci, co) as given (OIHW) -> packed(co, ci, kx, ky): output channels innermost.
Func pack_weights(const Func &oihw, const std::string &name);
// packed(co, ci, kx, ky) -> the kernel of the input adjoint, t(ci, co, k-1-kx, k-1-ky).
Func adjoint_weights(const Func &packed, int kernel, const std::string &name);

struct Frame {
    int width, height;
};

// in(c, x mod W, y mod H, ...) at every x, y. Its one consumer (a conv or weight gradient,
// which records it as its `pad`) decides where it is computed.
Func circular_pad(const std::string &name, const Func &in, const Frame &frame, bool has_v);

// How a convolution reads beyond the frame: wrapping around (circular) or zeros
// (PyTorch's Conv2d padding_mode 'circular' / 'zeros').
enum class Padding { Circular, Zeros };
Padding padding_from(const std::string &spec_value);

// in extended beyond the frame as `padding` says; like circular_pad otherwise. A zero-padded
// correlation's adjoints are the same gathers over the zero-padded gradient.
Func pad(const std::string &name, const Func &in, const Frame &frame, bool has_v, Padding padding);

// `in` has dims (c, x, y, v, b) when has_v, else (c, x, y, b), and is defined around the frame:
// `pad`, a pad() of the input, possibly moved by a flow. Returns the reduction Func; the caller
// wraps it in its owner and records the ConvStage. `choice` says whether the stage `name` is
// computed directly or by Winograd (winograd.h).
ConvStage correlate(const std::string &name, const Func &in, const Func &pad, const Func &packed,
                    int in_channels, int out_channels, int kernel, bool has_v, Type type,
                    const AlgorithmChoice &choice);

// dw for g (out_channels, ...) against in (in_channels, ..., extended like correlate's input).
// `batch` is the run-time batch
// extent; `velocities` the v extent when has_v. out is OIHW, named `name`.
// `choice` as for correlate().
WeightGradStage weight_grad(const std::string &name, const Func &g, const Func &in, const Func &pad,
                            int out_channels, int in_channels, int kernel, const Frame &frame,
                            bool has_v, int velocities, const Expr &batch, Type type,
                            const AlgorithmChoice &choice);

}  // namespace fernn::gen
