// The ranges of the numbers a user gives fernn that more than one reader checks: the spec, the
// command line and a run's saved settings (run.json) take them from here, so a value one of
// them accepts is never refused, or crashed on, by another.
#pragma once

#include <cstdint>

namespace fernn {

template <typename T>
struct Limits {
    T lo, hi;
    bool lo_open = false;  // (lo, hi] instead of [lo, hi]
};

constexpr int kMaxBatch = 1 << 20;   // sequences per step
constexpr int kMaxFrames = 10000;    // input or output frames of a sequence
constexpr int kMaxCopies = 4096;     // copies of the hidden state, |V| (or learned copies)
// Elements of one sequence's hidden state in one layer (|V| x channels x height x width): 1 GiB
// of float32. Bigger models would not fit a step of BPTT in memory, and Halide indexes a
// buffer with 32-bit integers, so a batch of them could not be addressed.
constexpr int64_t kMaxStateElements = int64_t(1) << 28;
// Values of one steerable conv's sampled basis (elements × N × in × k²), bounded before it is
// computed: 2^26 doubles is 512 MiB (C_36 with kernel 7 is 41M; kernel 15 would be 1.2 billion).
constexpr int64_t kMaxBasisValues = int64_t(1) << 26;

namespace limits {
constexpr Limits<int64_t> batch{1, kMaxBatch};
constexpr Limits<int64_t> frames{1, kMaxFrames};
constexpr Limits<int64_t> epochs{1, 1000000};
constexpr Limits<int64_t> steps{1, int64_t(1) << 40};
constexpr Limits<int64_t> val_every{0, int64_t(1) << 40};  // 0: once per epoch
constexpr Limits<int64_t> val_sequences{1, 1 << 24};
// Also at most (min(height, width) - 1) / 2 for a given frame: digits must fit.
constexpr Limits<int64_t> data_velocity_range{0, 2047};
constexpr Limits<double> lr{0.0, 10.0, /*lo_open=*/true};
constexpr Limits<double> clip_grad_norm{0.0, 1e9};
// BPTT recomputation segment in steps; 0 keeps every state (or "auto").
constexpr Limits<int64_t> recompute{0, kMaxFrames};
// --max-memory in GiB.
constexpr Limits<double> max_memory_gib{0.0, 1e6, /*lo_open=*/true};
}  // namespace limits

}  // namespace fernn
