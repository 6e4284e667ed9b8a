// Helpers shared by the C++ tests: specs from inline JSON, and compiled models from the
// test cache (build/test_models), compiled on first use.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "runtime/formats/array.h"
#include "runtime/model/model_library.h"
#include "runtime/plan/plan.h"
#include "runtime/spec/spec.h"
#include "tests/test_specs.h"
#include "tools/compiler/model_cache.h"

namespace fernn::test {

struct CliResult {
    int code;
    std::string output;  // stdout and stderr together
};

// Runs a shell command line; returns its exit code and output.
inline CliResult run_command(const std::string &command) {
    FILE *p = popen((command + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs build/fernn with `args` (a shell command line) against the test model cache.
inline CliResult fernn_cli(const std::string &args) {
    return run_command(std::string("FERNN_CACHE=") + FERNN_TEST_CACHE + " " + FERNN_BINARY + " " +
                       args);
}

inline std::shared_ptr<ModelLibrary> compiled(const Spec &spec, const std::string &precision) {
    return ModelLibrary::open(ensure_compiled(spec, "host", precision, FERNN_TEST_CACHE, nullptr));
}

template <typename T>
Array<T> random_array(std::vector<int64_t> shape, unsigned seed, double lo = 0, double hi = 1) {
    Array<T> a(std::move(shape));
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    for (auto &v : a.data) v = static_cast<T>(u(rng));
    return a;
}

}  // namespace fernn::test
