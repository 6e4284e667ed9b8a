// How much memory one training step's BPTT keeps, and how it is made to fit: keeping every
// hidden state, or every K-th and recomputing the segments between them in the backward
// (EncoderTrace::recompute). The trainer asks before it starts, so a run that cannot fit is
// refused with numbers instead of failing hours later.
#pragma once

#include <string>

#include "runtime/spec/spec.h"

namespace fernn {

// The automatic choice: recompute only when keeping every state would not fit.
constexpr int kRecomputeAuto = -1;

// Bytes BPTT keeps for one step of `batch` sequences (states, saved activations, decoder
// activations, frames, the backward's buffers); recompute: 0 keeps every state, K > 0 every
// K-th.
double bptt_bytes(const Spec &spec, int batch, int recompute);

// The segment length K > 0 that needs the least memory (about √T).
int leanest_recompute(const Spec &spec);

struct BpttChoice {
    int recompute = 0;  // what the run uses
    std::string note;   // why, when it was chosen for the user; else empty
};

// Chooses how BPTT runs for `batch` sequences per rank, of `ranks`, `here` of which share
// `budget` bytes (0: unknown, nothing is checked): `requested` K >= 0 as given, or
// kRecomputeAuto. Throws InputError, naming `budget_source` and what would fit, when the
// choice does not fit.
BpttChoice choose_bptt(const Spec &spec, int batch, int ranks, int here, int requested,
                       double budget, const std::string &budget_source);

// "auto" or an integer 0..limits::frames, as --recompute and training.recompute take it.
std::string recompute_text(int recompute);

}  // namespace fernn
