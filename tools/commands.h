// The fernn subcommands, separate from argument parsing (fernn_main.cpp). Each returns the
// process exit code; InputError (bad user input) maps to exit code 2 in main.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/model/model_library.h"

namespace fernn::cli {

struct SpecArgs {
    std::string spec;
    std::vector<std::string> sets;
};

struct ModelArgs : SpecArgs {
    std::string model_dir;        // empty: compile into the cache on first use
    std::string run;              // predict, encode: a training run instead of SPEC
    std::string device = "cpu";   // where the pipelines run: cpu | cuda
    std::string target = "host";  // compile target on first use ("host,cuda" for --device cuda)
    std::string precision = "float32";
    int threads = 0;
};

// The compiled model for `spec`: a.model_dir (which must match the spec), or the cache entry
// for the spec, target and precision, compiled on first use.
std::shared_ptr<ModelLibrary> resolve_model(const ModelArgs &a, const Spec &spec);
// SPEC (with --set), or the spec the training run a.run recorded.
Spec load_model_spec(const ModelArgs &a, const std::string &command);
// --checkpoint, or the run's best checkpoint.
std::string checkpoint_of(const ModelArgs &a, const std::string &checkpoint,
                          const std::string &command);

// What needs the compiler (Halide, LLVM). `fernn` links compiler_commands.cpp; `fernn-run`,
// the same command line for machines that only run compiled models, links no_compiler.cpp,
// where these throw InputError naming what to do instead.
bool has_compiler();
// The cached compiled model for the settings, compiled on first use.
std::string compiled_model_dir(const Spec &spec, const std::string &target,
                               const std::string &precision);
// The machine's measured FP32 peak in GFLOP/s with `threads` threads; 0 when not measurable.
double machine_peak_gflops(int threads);

int check(const SpecArgs &a, bool as_json);
// algorithm: empty, or every 3×3 stage that can in it (CompileOptions::algorithm).
int compile(const SpecArgs &a, const std::string &out_dir, const std::string &target,
            const std::string &precision, const std::string &records, const std::string &algorithm);
int init(const SpecArgs &a, unsigned long long seed, const std::string &out);
int predict(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
            const std::string &output, int frames);
// Hidden states of every layer, or only `layer` (>= 0).
int encode(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
           const std::string &output, int layer);
// target: frames for frame predictors; labels: class labels for classifiers. state_out (if
// not empty): the checkpoint after the training-mode forward (BatchNorm statistics moved).
int gradients(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
              const std::string &target, const std::string &labels, const std::string &out,
              const std::string &state_out);

// Flags of train/eval that take defaults from the spec or the run: `given` lists the ones the
// user typed, so defaults apply only to the others.
struct TrainArgs : SpecArgs {
    std::string out, resume, data = "mnist", model_dir, device = "cpu";
    long long steps = 0;
    int epochs = 0, batch = 0, threads = 0, val_sequences = 256, velocity_range = 0;
    std::vector<int> angular;  // --data-angular-velocities
    double lr = 0, clip = 0;
    unsigned long long seed = 0;
    long long val_every = 0;
    double collective_timeout = 600;  // data parallelism: seconds a rank waits for the others
    std::string recompute;            // "auto", K, or "" (the spec's)
    double max_memory_gib = 0;        // 0: what the machine has
    std::set<std::string> given;
};
int train(const TrainArgs &a);

struct EvalArgs : SpecArgs {
    std::string checkpoint, run, out, data = "mnist", model_dir, device = "cpu";
    int sequences = 256, length_frames = 0, velocity_max = -1, velocity_sequences = 32, batch = 32;
    int threads = 0, velocity_range = 0;
    std::vector<int> angular, test_angular;  // --data-angular-velocities, --test-angular-velocities
    double collective_timeout = 600;
    bool plots = true;
    std::set<std::string> given;
};
int eval(const EvalArgs &a);

// The FERNN theorem on the spec's own model (runtime/model/equivariance.h) for every ν̂ of V
// or the given ones; exit 1 when an exact case deviates by more than `tolerance`.
struct EquivarianceArgs : ModelArgs {
    std::string checkpoint, input, mode = "eval";
    std::vector<std::string> nu;
    unsigned long long seed = 0;
    int batch = 2, frames = 0;
    double tolerance = 1e-5;
};
int equivariance(const EquivarianceArgs &a);

int plot(const std::vector<std::string> &dirs, const std::string &out,
         const std::vector<std::string> &labels);

int data_import_npm(const std::string &package_dir, const std::string &out);

struct KthArgs {
    std::string dir, out;
    int size = 32, clips_per_segment = 1;
    unsigned long long seed = 0;
};
// Needs FFmpeg's libraries: `fernn` has it (video_commands.cpp), fernn-run says so.
int data_import_kth(const KthArgs &a);
int data_info(const std::string &data);

struct SampleArgs {
    std::string data = "mnist", split = "test", out, recipes;
    std::vector<int> angular;  // Rotating MNIST with these angular velocities (degrees/step)
    int count = 8, frames = 20, size = 28, velocity_range = 2;
    unsigned long long seed = 0;
};
struct BenchArgs : SpecArgs {
    std::string model_dir, device = "cpu";
    int batch = 16, threads = 0, repeats = 5, warmup = 1;
    std::string recompute = "0";  // K or "auto" (the leanest K)
    bool json_output = false;
};
int bench(const BenchArgs &a);

struct TuneArgs : SpecArgs {
    std::string target = "host", budget = "10m", records;
    int batch = 16, threads = 0;
    bool no_autoschedulers = false;
};
int tune(const TuneArgs &a);

// Writes Flowing MNIST sequences (count, frames, 1, size, size) to .npy, and their recipes.
int data_sample(const SampleArgs &a);

}  // namespace fernn::cli
