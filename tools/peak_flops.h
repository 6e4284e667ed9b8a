// The machine's measured FP32 peak: a Halide JIT kernel of independent vector FMA chains, run
// on every worker thread. Measured once per target and thread count, cached as JSON.
#pragma once

#include <string>

namespace fernn {

// GFLOP/s; `cache_dir` holds peak-<hash>.json (measured when absent).
double peak_gflops(int threads, const std::string &cache_dir);

}  // namespace fernn
