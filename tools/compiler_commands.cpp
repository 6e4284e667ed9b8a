// The CLI's uses of the compiler (generators/, schedules/, Halide and LLVM): linked into
// `fernn`. `fernn-run` links no_compiler.cpp instead (see commands.h).
#include <cstdio>
#include <iostream>

#include "tools/commands.h"
#include "tools/compiler/model_cache.h"
#include "tools/peak_flops.h"

namespace fernn::cli {

bool has_compiler() {
    return true;
}

std::string compiled_model_dir(const Spec &spec, const std::string &target,
                               const std::string &precision) {
    return ensure_compiled(spec, target, precision, default_cache_root(), &std::cerr);
}

double machine_peak_gflops(int threads) {
    return peak_gflops(threads, default_cache_root());
}

int compile(const SpecArgs &a, const std::string &out_dir, const std::string &target,
            const std::string &precision, const std::string &records,
            const std::string &algorithm) {
    const Spec s = load_spec(a.spec, a.sets);
    CompileOptions options;
    options.out_dir = out_dir;
    options.target = target;
    options.precision = precision;
    options.records_dir = records;
    options.algorithm = algorithm;
    const CompileResult r = compile_model(s, options);
    for (const auto &w : r.warnings) std::fprintf(stderr, "fernn: warning: %s\n", w.c_str());
    for (const auto &[name, seconds] : r.pipeline_seconds) {
        std::printf("compiled %-17s %6.2f s\n", name.c_str(), seconds);
    }
    std::printf("schedules: %s\n", r.schedule_source.c_str());
    std::printf("wrote %s\nwrote %s\ncompile time %.1f s (pipelines in parallel)\n",
                r.library.c_str(), r.manifest.c_str(), r.seconds);
    return 0;
}

}  // namespace fernn::cli
