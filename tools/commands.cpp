#include "tools/commands.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "runtime/formats/npy.h"
#include "runtime/model/checkpoint.h"
#include "runtime/model/cuda_probe.h"
#include "runtime/model/sequence_model.h"
#include "runtime/parallel/communicator.h"
#include "runtime/plan/plan.h"
#include "runtime/training/run_record.h"

namespace fernn::cli {

// The compiled model for `spec`: the given directory (which must match the spec), or the
// cache entry keyed by spec, target, precision and algorithm version, compiled on first use.
std::shared_ptr<ModelLibrary> resolve_model(const ModelArgs &a, const Spec &spec) {
    if (a.device != "cpu" && a.device != "cuda") {
        throw InputError("--device: \"" + a.device +
                         "\" is not a device; allowed: \"cpu\", \"cuda\"");
    }
    if (a.device == "cuda") {
        int devices = 0;
        const std::string why = cuda_unavailable_reason(&devices);
        if (!why.empty())
            throw InputError("no CUDA device: " + why + " (--device cuda); nothing was compiled");
        // Ranks sharing a machine take one GPU each (Halide's runtime reads HL_GPU_DEVICE),
        // unless the user or the launcher chose (HL_GPU_DEVICE, or CUDA_VISIBLE_DEVICES
        // leaving one device).
        if (launched_local_size() > 1 && devices > 1 && !std::getenv("HL_GPU_DEVICE")) {
            setenv("HL_GPU_DEVICE", std::to_string(launched_local_rank() % devices).c_str(), 1);
        }
    }
    const std::string target = a.device == "cuda" && a.target == "host" ? "host,cuda" : a.target;
    const std::string dir =
        a.model_dir.empty() ? compiled_model_dir(spec, target, a.precision) : a.model_dir;
    auto lib = ModelLibrary::open(dir);
    // The same model, refused otherwise; the caller's sequence lengths (e.g. a run's), not
    // those of the spec that compiled it first.
    lib->use_spec(spec);
    // Ranks on one machine share its cores: by default each takes its part (all cores alone).
    const int threads = a.threads > 0 ? a.threads : local_share_of_cores();
    if (threads > 0) lib->set_threads(threads);
    lib->use_device(a.device);
    return lib;
}

// SPEC (with --set), or the spec a training run recorded.
Spec load_model_spec(const ModelArgs &a, const std::string &command) {
    if (a.run.empty()) {
        if (a.spec.empty()) throw InputError(command + " needs SPEC or --run RUN");
        return load_spec(a.spec, a.sets);
    }
    if (!a.spec.empty() || !a.sets.empty()) {
        throw InputError("--run " + a.run +
                         ": the run's spec is in its run.json; give SPEC (and "
                         "--set) or --run, not both");
    }
    return read_run_record(a.run).spec;
}

// --checkpoint, or the run's best checkpoint.
std::string checkpoint_of(const ModelArgs &a, const std::string &checkpoint,
                          const std::string &command) {
    if (!checkpoint.empty()) return checkpoint;
    if (a.run.empty()) throw InputError(command + " needs --checkpoint CKPT (or --run RUN)");
    return a.run + "/best.safetensors";
}

namespace {

Spec load(const SpecArgs &a) {
    return load_spec(a.spec, a.sets);
}

template <typename T>
int predict_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
               const std::string &input, const std::string &output, int frames) {
    SequenceModel<T> model(lib);
    const auto weights = load_checkpoint<T>(checkpoint, model.plan(), model.spec().name);
    const Array<T> x = read_npy<T>(input);
    typename SequenceModel<T>::Trace trace;
    typename SequenceModel<T>::Options eval;  // BatchNorm with its running statistics
    eval.t_out = frames;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        model.forward(weights, x, eval, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (model.classifies()) {
        const Array<T> logits = model.logits(trace);
        write_npy(output, logits);
        std::printf("wrote %s %s logits (%d steps, batch %d, %.1f ms)\n", output.c_str(),
                    shape_text(logits.shape).c_str(), trace.t_in, trace.batch, ms);
        return 0;
    }
    const Array<T> y = model.predictions(trace);
    write_npy(output, y);
    std::printf("wrote %s %s (%d + %d steps, batch %d, %.1f ms)\n", output.c_str(),
                shape_text(y.shape).c_str(), trace.t_in, trace.t_out, trace.batch, ms);
    return 0;
}

// OUT for one layer; OUT with ".layer<l>" before its extension for each of several.
std::string layer_path(const std::string &output, int layer) {
    const size_t dot = output.rfind('.');
    const size_t slash = output.rfind('/');
    const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
    const std::string tag = ".layer" + std::to_string(layer);
    return has_ext ? output.substr(0, dot) + tag + output.substr(dot) : output + tag;
}

template <typename T>
int encode_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
              const std::string &input, const std::string &output, int layer) {
    SequenceModel<T> model(lib);
    const int layers = model.spec().layers();
    if (layer >= layers) {
        throw InputError("--layer " + std::to_string(layer) + ": the model has " +
                         std::to_string(layers) + " recurrent layer(s); allowed: 0.." +
                         std::to_string(layers - 1));
    }
    const auto weights = load_checkpoint<T>(checkpoint, model.plan(), model.spec().name);
    const Array<T> x = read_npy<T>(input);
    typename SequenceModel<T>::Trace trace;
    typename SequenceModel<T>::Options eval;
    eval.keep_all = true;
    try {
        model.forward(weights, x, eval, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    for (int l = 0; l < layers; ++l) {
        if (layer >= 0 && l != layer) continue;
        const std::string path = layer >= 0 || layers == 1 ? output : layer_path(output, l);
        const Array<T> h = model.hidden_states(trace, l, 0, trace.t_in);
        write_npy(path, h);
        std::cout << "wrote " << path << " " << shape_text(h.shape) << " (layer " << l << ")\n";
    }
    std::cout << (model.spec().flow.group == "translation" ? "velocity order (axis 2):"
                                                           : "copy order (axis 2):");
    for (const auto &label : model.spec().flow.labels()) std::cout << " " << label;
    std::cout << "\n";
    return 0;
}

template <typename T>
int gradients_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
                 const std::string &input, const std::string &target, const std::string &out,
                 const std::string &state_out) {
    SequenceModel<T> model(lib);
    auto weights = load_checkpoint<T>(checkpoint, model.plan(), model.spec().name);
    Parameters<T> params(*lib), grads_device(*lib);
    params.upload(weights.params);
    Statistics<T> stats(*lib);
    stats.upload(weights.stats);
    const Array<T> x = read_npy<T>(input);
    Array<T> frames;
    std::vector<int64_t> labels;
    Targets<T> targets;
    typename SequenceModel<T>::Options train;  // BatchNorm with batch statistics
    train.mode = Mode::Train;
    train.keep_all = true;
    if (model.classifies()) {
        labels = read_npy_integers(target);
        targets.labels = &labels;
    } else {
        frames = read_npy<T>(target);
        if (frames.shape.size() != 5) {
            throw InputError(target + ": has shape " + shape_text(frames.shape) +
                             "; needs (B, T_out, C, H, W)");
        }
        targets.frames = &frames;
        train.t_out = static_cast<int>(frames.shape[1]);
    }
    typename SequenceModel<T>::Trace trace;
    try {
        model.forward(params, &stats, x, train, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    double loss = 0;
    try {
        loss = model.backward(params, targets, trace, grads_device);
    } catch (const InputError &e) {
        throw InputError(target + ": " + e.what());
    }
    ParameterSet<T> grads = ParameterSet<T>::zeros(model.plan());
    grads_device.download(grads);
    const std::string dtype = sizeof(T) == 4 ? "F32" : "F64";
    save_parameters(out, grads, {{"fernn.loss", std::to_string(loss)}}, dtype);
    std::printf("loss %.9g\nwrote %s\n", loss, out.c_str());
    if (!state_out.empty()) {
        // BatchNorm's running statistics moved by the training-mode forward, as PyTorch's do.
        stats.download(weights.stats);
        save_checkpoint(state_out, model.plan(), weights,
                        {{"fernn.model_hash", model.spec().model_hash()}}, dtype);
        std::printf("wrote %s\n", state_out.c_str());
    }
    return 0;
}

}  // namespace

int check(const SpecArgs &a, bool as_json) {
    const Spec s = load(a);
    const ModelPlan plan = build_plan(s);
    json derived{{"copies", s.copies()},
                 {"parameters", plan.parameter_count()},
                 {"flops_per_encoder_step", s.flops_encoder_step()},
                 {"flops_per_head_step", s.flops_head_step()},
                 {"model_hash", s.model_hash()}};
    if (as_json) {
        json names = json::array();
        for (const auto &p : plan.params) names.push_back({{"name", p.name}, {"shape", p.shape}});
        for (const auto &b : plan.buffers) names.push_back({{"name", b.name}, {"shape", b.shape}});
        for (const auto &c : plan.constants)
            names.push_back({{"name", c.name}, {"shape", c.shape}});
        for (const auto &d : plan.derived) names.push_back({{"name", d.name}, {"shape", d.shape}});
        for (const auto &c : plan.counters)
            names.push_back({{"name", c}, {"shape", json::array()}, {"dtype", "int64"}});
        derived["state_dict"] = names;
        std::cout << json{{"spec", s.normalized()}, {"derived", derived}}.dump(2) << "\n";
        return 0;
    }
    std::printf("%s: OK\n", a.spec.c_str());
    std::printf("  name         %s (model hash %s)\n", s.name.c_str(), s.model_hash().c_str());
    std::printf("  frames       %d channel(s), %d x %d (H x W)\n", s.input.channels, s.input.height,
                s.input.width);
    const auto labels = s.flow.labels();
    if (s.flow.group == "learned") {
        std::printf("  flow         learned, %d copies, each moved by its own %dx%d kernel\n",
                    s.copies(), s.flow.learned_kernel, s.flow.learned_kernel);
    } else {
        std::printf("  flow         %s, %s boundary, |V| = %d:", s.flow.group.c_str(),
                    s.flow.boundary.c_str(), s.copies());
        for (size_t i = 0; i < labels.size() && i < 32; ++i) std::printf(" %s", labels[i].c_str());
        std::printf("%s\n", labels.size() > 32 ? " ..." : "");
    }
    // Steerable convs name the group and count fields of N orientation channels.
    const std::string steerable =
        s.flow.steerable() ? "C_" + std::to_string(s.flow.orientations) + "-steerable " : "";
    const std::string per_field =
        s.flow.steerable() ? " (fields of " + std::to_string(s.flow.field_size()) + ")" : "";
    auto conv_text = [&](const ConvLayerSpec &l) {
        return steerable + "conv " + std::to_string(l.kernel) + "x" + std::to_string(l.kernel) +
               " " + std::to_string(l.in_channels) + " -> " + std::to_string(l.channels) +
               per_field + " (" + l.padding + " padding)" + (l.batchnorm ? " + batchnorm" : "") +
               (l.activation != "none" ? " + " + l.activation : "");
    };
    for (size_t i = 0; i < s.lifting.layers.size(); ++i)
        std::printf("  lifting %zu    %s\n", i, conv_text(s.lifting.layers[i]).c_str());
    for (size_t l = 0; l < s.recurrence.layers.size(); ++l) {
        const RecurrentLayerSpec &r = s.recurrence.layers[l];
        std::printf("  layer %zu      %d channels%s, %sconv %dx%d shared over copies, %s%s\n", l,
                    r.channels, per_field.c_str(), steerable.c_str(), r.kernel, r.kernel,
                    r.activation.c_str(),
                    r.input ? ("; input " + conv_text(*r.input)).c_str() : "");
    }
    if (s.readout.kind == "classes") {
        const ClassesReadout &c = s.readout.classes;
        std::printf(
            "  readout      classes: %s over copies, %s over pixels, %s step, linear -> %d "
            "logits (cross-entropy)\n",
            c.pool.c_str(), c.space.c_str(), c.time == "last" ? "last" : "mean over each",
            c.classes);
        std::printf("  sequence     %d input frames\n", s.sequence.input_frames);
    } else {
        const FramesReadout &f = s.readout.frames;
        std::printf(
            "  readout      frames: %s over copies, %d x (conv %dx%d + relu), conv %dx%d "
            "-> %d channel(s) (MSE)\n",
            f.pool.c_str(), f.decoder_layers, f.decoder_kernel, f.decoder_kernel, f.decoder_kernel,
            f.decoder_kernel, f.channels);
        std::printf("  sequence     %d input + %d predicted frames\n", s.sequence.input_frames,
                    s.sequence.output_frames);
    }
    std::printf("  parameters   %lld\n", static_cast<long long>(plan.parameter_count()));
    for (const auto &p : plan.params)
        std::printf("    %-40s %s\n", p.name.c_str(), shape_text(p.shape).c_str());
    for (const auto &b : plan.buffers)
        std::printf("    %-40s %s (buffer)\n", b.name.c_str(), shape_text(b.shape).c_str());
    for (const auto &c : plan.constants)
        std::printf("    %-40s %s (constant)\n", c.name.c_str(), shape_text(c.shape).c_str());
    for (const auto &d : plan.derived)
        std::printf("    %-40s %s (expanded from %s when saved)\n", d.name.c_str(),
                    shape_text(d.shape).c_str(), plan.params[d.param].name.c_str());
    for (const auto &c : plan.counters) std::printf("    %-40s () int64\n", c.c_str());
    const double head = s.flops_head_step();
    std::printf("  FLOPs/sample encoder step %.4g, head step %.4g, sequence forward %.4g\n",
                s.flops_encoder_step(), head,
                (s.sequence.input_frames + s.sequence.output_frames) * s.flops_encoder_step() +
                    (s.readout.predicts_frames() ? s.sequence.output_frames : 1) * head);
    return 0;
}

int init(const SpecArgs &a, unsigned long long seed, const std::string &out) {
    const Spec s = load(a);
    const ModelPlan plan = build_plan(s);
    save_checkpoint(out, plan, init_weights<float>(plan, seed),
                    {{"fernn.model_hash", s.model_hash()}, {"fernn.seed", std::to_string(seed)}},
                    "F32");
    std::printf("wrote %s (%lld parameters, seed %llu)\n", out.c_str(),
                static_cast<long long>(plan.parameter_count()), seed);
    return 0;
}

int predict(const ModelArgs &a, const std::string &checkpoint_arg, const std::string &input,
            const std::string &output, int frames) {
    const Spec s = load_model_spec(a, "predict");
    const std::string checkpoint = checkpoint_of(a, checkpoint_arg, "predict");
    auto lib = resolve_model(a, s);
    const int n = frames > 0 ? frames : s.sequence.output_frames;
    return lib->is_float64() ? predict_as<double>(lib, checkpoint, input, output, n)
                             : predict_as<float>(lib, checkpoint, input, output, n);
}

int encode(const ModelArgs &a, const std::string &checkpoint_arg, const std::string &input,
           const std::string &output, int layer) {
    const Spec s = load_model_spec(a, "encode");
    const std::string checkpoint = checkpoint_of(a, checkpoint_arg, "encode");
    auto lib = resolve_model(a, s);
    return lib->is_float64() ? encode_as<double>(lib, checkpoint, input, output, layer)
                             : encode_as<float>(lib, checkpoint, input, output, layer);
}

int gradients(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
              const std::string &target, const std::string &labels, const std::string &out,
              const std::string &state_out) {
    const Spec s = load(a);
    const bool classes = s.readout.kind == "classes";
    if (classes && labels.empty()) {
        throw InputError(a.spec + ": readout.kind is \"classes\": gradients needs --labels Y.npy" +
                         (target.empty() ? "" : " (not --target)"));
    }
    if (!classes && target.empty()) {
        throw InputError(a.spec + ": readout.kind is \"frames\": gradients needs --target Y.npy" +
                         (labels.empty() ? "" : " (not --labels)"));
    }
    if (!target.empty() && !labels.empty())
        throw InputError("give --target (frame predictors) or --labels (classifiers), not both");
    auto lib = resolve_model(a, s);
    const std::string &file = classes ? labels : target;
    return lib->is_float64() ? gradients_as<double>(lib, checkpoint, input, file, out, state_out)
                             : gradients_as<float>(lib, checkpoint, input, file, out, state_out);
}

}  // namespace fernn::cli
