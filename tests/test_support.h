// Helpers shared by the C++ tests: specs from inline JSON, and compiled models from the
// test cache (build/test_models), compiled on first use.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "runtime/formats/array.h"
#include "runtime/formats/idx.h"
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

// 60 synthetic 28x28 "digits" (a bright bar at a different place in each) as DIR/images-idx3-ubyte:
// a data set for `--data DIR` on which small models train in milliseconds per step.
inline void write_bar_digits(const std::string &dir) {
    IdxArray images;
    images.dims = {60, 28, 28};
    images.data.assign(60 * 784, 0);
    for (int i = 0; i < 60; ++i)
        for (int k = 0; k < 10; ++k)
            images.data[size_t(i * 784 + (4 + i % 20) * 28 + 9 + k)] = uint8_t(120 + 2 * i);
    write_idx(dir + "/images-idx3-ubyte", images);
}

// specs/fernn_v1.json made small (28x28 frames, Flowing MNIST's size) with --set, as a command
// line's SPEC argument: a model that trains in milliseconds per step.
inline std::string small_fernn_v1() {
    return std::string(FERNN_SOURCE_DIR) +
           "/specs/fernn_v1.json --set recurrence.channels=4 --set readout.decoder.layers=1"
           " --set flow.velocities.range=1 --set sequence.input_frames=3"
           " --set sequence.output_frames=2";
}

// TMPDIR/PREFIX_TEST: the running test's own directory (tests run in parallel), not created.
inline std::filesystem::path test_dir(const std::string &prefix) {
    return std::filesystem::path(::testing::TempDir()) /
           (prefix + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// A test that trains: its own empty directory with DIR/data holding write_bar_digits' set.
class TrainingTest : public ::testing::Test {
  protected:
    explicit TrainingTest(std::string prefix) : prefix_(std::move(prefix)) {}
    void SetUp() override {
        dir_ = test_dir(prefix_);
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "data");
        write_bar_digits(path("data"));
    }
    std::string path(const std::string &name) const { return (dir_ / name).string(); }
    std::string prefix_;
    std::filesystem::path dir_;
};

// A spec-version-2 classifier on 28x28 frames (BatchNorm lifting, one tanh layer, classes
// head), written to `path` (returned).
inline std::string write_small_classifier(const std::string &path, const std::string &name,
                                          int channels, int input_frames) {
    const std::string c = std::to_string(channels);
    std::ofstream(path) << R"({"fernn": 2, "name": ")" << name << R"(",
      "input": {"channels": 1, "height": 28, "width": 28},
      "flow": {"group": "translation", "velocities": {"range": 1}, "boundary": "circular"},
      "lifting": {"layers": [{"channels": )"
                        << c << R"(, "kernel": 3, "padding": "zeros",
                              "batchnorm": true, "activation": "relu"}]},
      "recurrence": {"channels": )"
                        << c << R"(, "kernel": 3, "activation": "tanh"},
      "readout": {"kind": "classes", "classes": 10, "pool": "max", "time": "last", "space": "mean"},
      "sequence": {"input_frames": )"
                        << input_frames << "}}";
    return path;
}

}  // namespace fernn::test
