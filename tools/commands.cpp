#include "tools/commands.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "runtime/model/checkpoint.h"
#include "runtime/formats/npy.h"
#include "runtime/model/sequence_model.h"

namespace fernn::cli {

// The compiled model for `spec`: the given directory (which must match the spec), or the
// cache entry keyed by spec, target, precision and algorithm version, compiled on first use.
std::shared_ptr<ModelLibrary> resolve_model(const ModelArgs &a, const Spec &spec) {
    if (a.device != "cpu" && a.device != "cuda") {
        throw InputError("--device: \"" + a.device +
                         "\" is not a device; allowed: \"cpu\", \"cuda\"");
    }
    const std::string target = a.device == "cuda" && a.target == "host" ? "host,cuda" : a.target;
    const std::string dir =
        a.model_dir.empty() ? compiled_model_dir(spec, target, a.precision) : a.model_dir;
    auto lib = ModelLibrary::open(dir);
    const std::string compiled = lib->manifest().value("model_hash", "");
    if (compiled != spec.model_hash()) {
        throw InputError(dir + ": compiled from another model (model hash " + compiled + ") than " +
                         a.spec + " (" + spec.model_hash() + "); recompile it or pass its spec");
    }
    if (a.threads > 0) lib->set_threads(a.threads);
    lib->use_device(a.device);
    return lib;
}

namespace {

Spec load(const SpecArgs &a) {
    return load_spec(a.spec, a.sets);
}

template <typename T>
int predict_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
               const std::string &input, const std::string &output, int frames) {
    SequenceModel<T> model(lib);
    const auto params = load_checkpoint<T>(checkpoint, model.spec());
    const Array<T> x = read_npy<T>(input);
    typename SequenceModel<T>::Trace trace;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        model.forward(params, x, frames, false, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const Array<T> y = model.predictions(trace);
    write_npy(output, y);
    std::printf("wrote %s %s (%d + %d steps, batch %d, %.1f ms)\n", output.c_str(),
                shape_text(y.shape).c_str(), trace.t_in, trace.t_out, trace.batch, ms);
    return 0;
}

template <typename T>
int encode_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
              const std::string &input, const std::string &output) {
    SequenceModel<T> model(lib);
    const auto params = load_checkpoint<T>(checkpoint, model.spec());
    const Array<T> x = read_npy<T>(input);
    typename SequenceModel<T>::Trace trace;
    try {
        model.forward(params, x, 0, true, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    const Array<T> h = model.hidden_states(trace, 0, trace.t_in);
    write_npy(output, h);
    std::cout << "wrote " << output << " " << shape_text(h.shape) << "\nvelocity order (axis 2):";
    for (const auto &label : model.spec().flow.labels()) std::cout << " " << label;
    std::cout << "\n";
    return 0;
}

template <typename T>
int gradients_as(std::shared_ptr<ModelLibrary> lib, const std::string &checkpoint,
                 const std::string &input, const std::string &target, const std::string &out) {
    SequenceModel<T> model(lib);
    const auto params = load_checkpoint<T>(checkpoint, model.spec());
    const Array<T> x = read_npy<T>(input), y = read_npy<T>(target);
    if (y.shape.size() != 5) {
        throw InputError(target + ": has shape " + shape_text(y.shape) +
                         "; needs (B, T_out, C, H, W)");
    }
    typename SequenceModel<T>::Trace trace;
    try {
        model.forward(params, x, static_cast<int>(y.shape[1]), true, trace);
    } catch (const InputError &e) {
        throw InputError(input + ": " + e.what());
    }
    ParameterSet<T> grads;
    double loss = 0;
    try {
        loss = model.backward(params, y, trace, grads);
    } catch (const InputError &e) {
        throw InputError(target + ": " + e.what());
    }
    save_parameters(out, grads, {{"fernn.loss", std::to_string(loss)}},
                    sizeof(T) == 4 ? "F32" : "F64");
    std::printf("loss %.9g\nwrote %s\n", loss, out.c_str());
    return 0;
}

}  // namespace

int check(const SpecArgs &a, bool as_json) {
    const Spec s = load(a);
    json derived{{"velocities", s.num_velocities()},
                 {"parameters", s.parameter_count()},
                 {"flops_per_encoder_step", s.flops_encoder_step()},
                 {"flops_per_decoder_step", s.flops_decoder_step()},
                 {"model_hash", s.model_hash()}};
    if (as_json) {
        std::cout << json{{"spec", s.normalized()}, {"derived", derived}}.dump(2) << "\n";
        return 0;
    }
    std::printf("%s: OK\n", a.spec.c_str());
    std::printf("  name         %s (model hash %s)\n", s.name.c_str(), s.model_hash().c_str());
    std::printf("  frames       %d channel(s), %d x %d (H x W)\n", s.in_channels, s.height,
                s.width);
    std::printf("  flow         %s, %s boundary, |V| = %d:", s.flow.group.c_str(),
                s.flow.boundary.c_str(), s.num_velocities());
    const auto labels = s.flow.labels();
    for (size_t i = 0; i < labels.size() && i < 32; ++i) std::printf(" %s", labels[i].c_str());
    std::printf("%s\n", labels.size() > 32 ? " ..." : "");
    std::printf("  lifting      conv %dx%d, %d -> %d channels\n", s.lift_kernel, s.lift_kernel,
                s.in_channels, s.hidden);
    std::printf("  recurrence   %d channels, conv %dx%d shared over V, %s\n", s.hidden,
                s.rec_kernel, s.rec_kernel, s.activation.c_str());
    std::printf("  readout      %s over V, %d x (conv %dx%d + relu), conv %dx%d -> %d channel(s)\n",
                s.pool.c_str(), s.dec_layers, s.dec_kernel, s.dec_kernel, s.dec_kernel,
                s.dec_kernel, s.out_channels);
    std::printf("  sequence     %d input + %d predicted frames\n", s.input_frames, s.output_frames);
    std::printf("  parameters   %lld\n", static_cast<long long>(s.parameter_count()));
    for (const auto &p : s.parameters()) {
        std::printf("    %-24s %s\n", p.name.c_str(), shape_text(p.shape).c_str());
    }
    std::printf("  FLOPs/sample encoder step %.4g, decoder step %.4g, sequence forward %.4g\n",
                s.flops_encoder_step(), s.flops_decoder_step(),
                s.input_frames * s.flops_encoder_step() + s.output_frames * s.flops_decoder_step());
    return 0;
}

int init(const SpecArgs &a, unsigned long long seed, const std::string &out) {
    const Spec s = load(a);
    const auto params = init_parameters<float>(s, seed);
    save_parameters(out, params,
                    {{"fernn.model_hash", s.model_hash()}, {"fernn.seed", std::to_string(seed)}},
                    "F32");
    std::printf("wrote %s (%lld parameters, seed %llu)\n", out.c_str(),
                static_cast<long long>(s.parameter_count()), seed);
    return 0;
}

int predict(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
            const std::string &output, int frames) {
    const Spec s = load(a);
    auto lib = resolve_model(a, s);
    const int n = frames > 0 ? frames : s.output_frames;
    return lib->is_float64() ? predict_as<double>(lib, checkpoint, input, output, n)
                             : predict_as<float>(lib, checkpoint, input, output, n);
}

int encode(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
           const std::string &output) {
    const Spec s = load(a);
    auto lib = resolve_model(a, s);
    return lib->is_float64() ? encode_as<double>(lib, checkpoint, input, output)
                             : encode_as<float>(lib, checkpoint, input, output);
}

int gradients(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
              const std::string &target, const std::string &out) {
    const Spec s = load(a);
    auto lib = resolve_model(a, s);
    return lib->is_float64() ? gradients_as<double>(lib, checkpoint, input, target, out)
                             : gradients_as<float>(lib, checkpoint, input, target, out);
}

}  // namespace fernn::cli
