#include "tools/peak_flops.h"

#include <Halide.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "runtime/formats/atomic_file.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/spec.h"

namespace fernn {

namespace {

// Independent accumulators: enough to hide the FMA latency on two FMA pipes (12 plus the
// two operands fill AVX2's 16 vector registers; AVX-512 has 32).
constexpr int kChains = 12;
// Vector FMAs per chain per iteration (see measure()).
constexpr int kFmasPerChain = 8;

// What the measurement is; part of the cache key, so a changed kernel is measured anew.
std::string kernel_name() {
    return std::to_string(kChains) + " independent chains of " + std::to_string(kFmasPerChain) +
           " vector FMAs per iteration, per vector lane (v3)";
}

double measure(int threads) {
    using namespace Halide;
    // The JIT runtime sizes its thread pool from HL_NUM_THREADS when it first starts.
    setenv("HL_NUM_THREADS", std::to_string(threads).c_str(), 1);
    const Target target = get_host_target();
    const int lanes = target.natural_vector_size(Float(32));
    const int chains = kChains;
    const int iterations = 1 << 14;
    const int rows = 256 * threads;  // ~0.1 s a run: long beside thread-pool wake-ups
    Param<float> scale("scale"), shift("shift");
    Var x("x"), y("y");
    RDom r(0, iterations, "r");
    Func acc("acc");
    std::vector<Expr> init, next;
    for (int i = 0; i < chains; ++i) init.push_back(cast<float>(x + y + i) * 1e-3f);
    acc(x, y) = Tuple(init);
    // The shift depends on r so that the update keeps its loop: one int-to-float conversion
    // and one scalar FMA per iteration, which take FMA pipes' slots. Eight vector FMAs per
    // chain per iteration (the last seven with loop-invariant operands) leave them 2 slots in
    // 98. On a 2-core Sapphire Rapids (2 × 512-bit FMA units a core), 3 alternating runs each:
    // 2 FMAs a chain 200–237 GFLOP/s, 4: 216–253, 8: 243–276, and 12 chains of hand-written
    // 512-bit FMAs (no loads, no scalar work) 268–276. On an AVX2 EPYC 1 FMA a chain measured
    // 141, 2: 148, of the 156 its two cores can do at 2.45 GHz.
    const Expr b = shift + cast<float>(r.x) * 1e-9f;
    for (int i = 0; i < chains; ++i) {
        Expr chain = acc(x, y)[i] * scale + b;
        for (int k = 1; k < kFmasPerChain; ++k) chain = chain * scale + shift;
        next.push_back(chain);
    }
    acc(x, y) = Tuple(next);
    Func out("out");
    Expr total = acc(x, y)[0];
    for (int i = 1; i < chains; ++i) total += acc(x, y)[i];
    out(x, y) = total;
    // A constant extent lets LLVM keep all chains in registers across the r loop.
    out.bound(x, 0, lanes).vectorize(x, lanes).parallel(y);
    acc.compute_at(out, y).vectorize(x, lanes);
    acc.update().reorder(x, r.x).vectorize(x, lanes);
    scale.set(0.999f);
    shift.set(1e-4f);
    Buffer<float> result(lanes, rows);
    out.compile_jit(target);
    out.realize(result);  // warm-up: starts the thread pool
    double best = 0;
    for (int rep = 0; rep < 20; ++rep) {  // the best of 20: frequency and neighbours vary
        const auto t0 = std::chrono::steady_clock::now();
        out.realize(result);
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best,
                        2.0 * kFmasPerChain * chains * double(iterations) * lanes * rows / s / 1e9);
    }
    return best;
}

}  // namespace

double peak_gflops(int threads, const std::string &cache_dir) {
    const std::string target = Halide::get_host_target().to_string();
    const std::string path =
        cache_dir + "/peak-" +
        fnv1a_hex(target + "|" + std::to_string(threads) + "|" + kernel_name()) + ".json";
    if (std::filesystem::exists(path)) return read_json_file(path).at("gflops").get<double>();
    const double gflops = measure(threads);
    std::filesystem::create_directories(cache_dir);
    write_file_atomically(
        path,
        json{
            {"target", target}, {"threads", threads}, {"gflops", gflops}, {"kernel", kernel_name()}}
                .dump(2) +
            "\n");
    return gflops;
}

}  // namespace fernn
