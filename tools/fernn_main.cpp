// fernn: compile, run and differentiate FERNN models described by JSON specs.
#include <CLI/CLI.hpp>
#include <iostream>

#include "../runtime/json_reader.h"
#include "commands.h"

using namespace fernn;

namespace {

void add_spec(CLI::App *cmd, cli::SpecArgs &a) {
    cmd->add_option("SPEC", a.spec, "model spec (JSON), see specs/README.md")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", a.sets,
                    "override a spec value before validation, PATH=VALUE (repeatable), e.g. "
                    "--set recurrence.channels=32");
}

void add_model(CLI::App *cmd, cli::ModelArgs &a) {
    add_spec(cmd, a);
    cmd->add_option("--model", a.model_dir,
                    "compiled model directory (default: compile on first use, cached by spec hash "
                    "under $FERNN_CACHE or ~/.cache/fernn)");
    cmd->add_option("--compile-target", a.target,
                    "Halide target when compiling on first use (default host)");
    cmd->add_option("--precision", a.precision, "float32 or float64 when compiling")
        ->check(CLI::IsMember({"float32", "float64"}));
    cmd->add_option("--threads", a.threads, "worker threads (default: all cores)")
        ->check(CLI::NonNegativeNumber);
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"fernn: a compiler and trainer for Flow Equivariant Recurrent Neural Networks"};
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
    compile->add_option("--precision", precision, "float32 (default) or float64")
        ->check(CLI::IsMember({"float32", "float64"}));

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
    add_model(predict, predict_args);
    predict->add_option("--checkpoint", checkpoint, "parameters (.safetensors)")
        ->required()
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
    add_model(encode, encode_args);
    encode->add_option("--checkpoint", checkpoint, "parameters (.safetensors)")
        ->required()
        ->check(CLI::ExistingFile);
    encode->add_option("--input", input, "input frames, .npy (B, T, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    encode->add_option("--output", output, "hidden states, .npy (B, T, |V|, C, H, W)")->required();

    cli::ModelArgs grad_args;
    std::string grad_out;
    auto *gradients =
        app.add_subcommand("gradients", "MSE loss of the predictions and parameter gradients");
    add_model(gradients, grad_args);
    gradients->add_option("--checkpoint", checkpoint, "parameters (.safetensors)")
        ->required()
        ->check(CLI::ExistingFile);
    gradients->add_option("--input", input, "input frames, .npy (B, T_in, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    gradients->add_option("--target", target_file, "target frames, .npy (B, T_out, C, H, W)")
        ->required()
        ->check(CLI::ExistingFile);
    gradients->add_option("--out", grad_out, "gradients to write (.safetensors, parameter names)")
        ->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    try {
        if (*check) return cli::check(check_args, as_json);
        if (*compile) return cli::compile(compile_args, out_dir, target, precision);
        if (*init) return cli::init(init_args, seed, init_out);
        if (*predict) return cli::predict(predict_args, checkpoint, input, output, frames);
        if (*encode) return cli::encode(encode_args, checkpoint, input, output);
        if (*gradients) return cli::gradients(grad_args, checkpoint, input, target_file, grad_out);
    } catch (const InputError &e) {
        std::cerr << "fernn: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception &e) {
        std::cerr << "fernn: failed: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
