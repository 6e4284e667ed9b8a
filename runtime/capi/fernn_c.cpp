// The C API (fernn.h) over ModelHandle: argument checks that C needs (null pointers, enum
// ranges), and every exception turned into a status with its message kept per thread.
#include <cstdlib>
#include <cstring>
#include <new>

#include "runtime/capi/compile_hook.h"
#include "runtime/capi/fernn.h"
#include "runtime/capi/model_handle.h"
#include "runtime/training/process_memory.h"

struct fernn_model {
    std::unique_ptr<fernn::capi::ModelHandle> handle;
};
struct fernn_pass {
    fernn::capi::ModelHandle *model = nullptr;
    std::unique_ptr<fernn::capi::Pass> pass;
};

namespace {

using fernn::InputError;
using fernn::capi::Group;
using fernn::capi::ModelHandle;

std::string &last_error() {
    thread_local std::string message;
    return message;
}

fernn_status fail(fernn_status status, const std::string &message) {
    last_error() = message;
    return status;
}

// Runs f, mapping what it throws to a status; nothing escapes into C.
template <typename F>
fernn_status guard(F &&f) {
    try {
        f();
        return FERNN_OK;
    } catch (const InputError &e) {
        return fail(FERNN_INVALID_INPUT, e.what());
    } catch (const fernn::capi::InvalidState &e) {
        return fail(FERNN_INVALID_STATE, e.what());
    } catch (const fernn::capi::Unavailable &e) {
        return fail(FERNN_UNAVAILABLE, e.what());
    } catch (const std::bad_alloc &) {
        return fail(FERNN_RUNTIME_ERROR, "out of memory");
    } catch (const std::exception &e) {
        return fail(FERNN_RUNTIME_ERROR, e.what());
    } catch (...) {
        return fail(FERNN_RUNTIME_ERROR, "unknown error");
    }
}

ModelHandle &handle(const fernn_model *model) {
    if (!model || !model->handle) throw InputError("model is NULL");
    return *model->handle;
}

void require(const void *p, const char *what) {
    if (!p) throw InputError(std::string(what) + " is NULL");
}

fernn::capi::Pass *pass_of(const fernn_pass *pass) {
    return pass ? pass->pass.get() : nullptr;
}

Group group_of(int g) {
    if (g < 0 || g >= fernn::capi::kGroupCount) {
        throw InputError("group " + std::to_string(g) +
                         "; allowed: FERNN_PARAMETERS (0), FERNN_STATISTICS (1), FERNN_COUNTERS "
                         "(2), FERNN_CONSTANTS (3), FERNN_DERIVED (4)");
    }
    return Group(g);
}

fernn_status open_library(const std::string &dir, const fernn::Spec *spec, fernn_model **model) {
    return guard([&] {
        const char *keep = std::getenv("FERNN_KEEP_MALLOC_SETTINGS");
        if (!keep || !*keep) fernn::keep_freed_memory_for_reuse();
        require(model, "model (the pointer to fill)");
        *model = nullptr;
        auto lib = fernn::ModelLibrary::open(dir);
        if (spec) lib->use_spec(*spec);
        auto m = std::make_unique<fernn_model>();
        m->handle = ModelHandle::open(std::move(lib));
        *model = m.release();
    });
}

}  // namespace

extern "C" {

int fernn_api_version(void) {
    return FERNN_API_VERSION;
}

const char *fernn_last_error(void) {
    return last_error().c_str();
}

fernn_status fernn_open(const char *model_dir, fernn_model **model) {
    if (!model_dir) return fail(FERNN_INVALID_INPUT, "model_dir is NULL");
    return open_library(model_dir, nullptr, model);
}

fernn_status fernn_compile(const char *spec_path, const char *const *overrides,
                           size_t override_count, const char *target, const char *precision,
                           const char *cache_dir, fernn_model **model) {
    std::string dir;
    fernn::Spec spec;
    const fernn_status s = guard([&] {
        require(model, "model (the pointer to fill)");
        *model = nullptr;
        require(spec_path, "spec_path");
        if (override_count > 0) require(overrides, "overrides");
        std::vector<std::string> sets;
        for (size_t i = 0; i < override_count; ++i) {
            if (!overrides[i]) throw InputError("overrides[" + std::to_string(i) + "] is NULL");
            sets.emplace_back(overrides[i]);
        }
        const std::string p = precision ? precision : "float32";
        if (p != "float32" && p != "float64")
            throw InputError("precision \"" + p + "\"; allowed: \"float32\", \"float64\"");
        spec = fernn::load_spec(spec_path, sets);
        dir = fernn::capi::compile_to_cache(spec, target ? target : "host", p,
                                            cache_dir ? cache_dir : "");
    });
    if (s != FERNN_OK) return s;
    return open_library(dir, &spec, model);
}

void fernn_free(fernn_model *model) {
    delete model;
}

fernn_status fernn_set_threads(fernn_model *model, int threads) {
    return guard([&] { handle(model).set_threads(threads); });
}

fernn_status fernn_use_device(fernn_model *model, const char *device) {
    return guard([&] {
        require(device, "device");
        handle(model).use_device(device);
    });
}

fernn_status fernn_get_info(const fernn_model *model, fernn_info *info) {
    return guard([&] {
        const ModelHandle &h = handle(model);
        require(info, "info");
        const fernn::Spec &s = h.spec();
        fernn_info i{};
        i.element_bytes = h.element_bytes();
        i.classifies = s.readout.kind == "classes";
        i.has_batchnorm = h.has_batchnorm();
        i.layers = s.layers();
        i.channels = s.input.channels;
        i.height = s.input.height;
        i.width = s.input.width;
        i.input_frames = s.sequence.input_frames;
        i.output_frames = s.sequence.output_frames;
        i.classes = i.classifies ? s.readout.classes.classes : 0;
        i.copies = s.copies();
        i.parameter_count = h.group_size(Group::Parameters);
        i.statistic_count = h.group_size(Group::Statistics);
        i.counter_count = h.group_size(Group::Counters);
        for (int g = 0; g < fernn::capi::kGroupCount; ++g)
            i.tensor_counts[g] = int64_t(h.tensors(Group(g)).size());
        *info = i;
    });
}

fernn_status fernn_get_tensor(const fernn_model *model, fernn_group group, int64_t index,
                              fernn_tensor_info *info) {
    return guard([&] {
        const ModelHandle &h = handle(model);
        require(info, "info");
        const auto &ts = h.tensors(group_of(int(group)));
        if (index < 0 || index >= int64_t(ts.size())) {
            throw InputError("tensor index " + std::to_string(index) + "; allowed: 0.." +
                             std::to_string(int64_t(ts.size()) - 1));
        }
        const auto &t = ts[size_t(index)];
        if (t.shape.size() > FERNN_MAX_RANK)
            throw std::logic_error(t.name + " has more than FERNN_MAX_RANK dimensions");
        fernn_tensor_info out{};
        out.name = t.name.c_str();
        out.rank = int(t.shape.size());
        for (size_t d = 0; d < t.shape.size(); ++d) out.shape[d] = t.shape[d];
        out.offset = t.offset;
        out.count = t.count;
        out.tolerance = t.tolerance;
        *info = out;
    });
}

fernn_status fernn_describe(const fernn_model *model, const char **json) {
    return guard([&] {
        const ModelHandle &h = handle(model);
        require(json, "json");
        *json = h.describe().c_str();
    });
}

fernn_status fernn_init(fernn_model *model, uint64_t seed) {
    return guard([&] { handle(model).init(seed); });
}

fernn_status fernn_read(fernn_model *model, fernn_group group, void *data, int64_t count) {
    return guard([&] { handle(model).read(group_of(int(group)), data, count); });
}

fernn_status fernn_write(fernn_model *model, fernn_group group, const void *data, int64_t count) {
    return guard([&] { handle(model).write(group_of(int(group)), data, count); });
}

fernn_status fernn_bind_parameters(fernn_model *model, void *data, int64_t count) {
    return guard([&] { handle(model).bind_parameters(data, count); });
}

fernn_status fernn_load(fernn_model *model, const char *path) {
    return guard([&] {
        ModelHandle &h = handle(model);
        require(path, "path");
        h.load(path);
    });
}

fernn_status fernn_save(fernn_model *model, const char *path) {
    return guard([&] {
        ModelHandle &h = handle(model);
        require(path, "path");
        h.save(path);
    });
}

fernn_status fernn_pass_create(fernn_model *model, fernn_pass **pass) {
    return guard([&] {
        ModelHandle &h = handle(model);
        require(pass, "pass (the pointer to fill)");
        auto p = std::make_unique<fernn_pass>();
        p->model = &h;
        p->pass = h.create_pass();
        *pass = p.release();
    });
}

void fernn_pass_free(fernn_pass *pass) {
    if (!pass) return;
    pass->model->forget(pass->pass.get());
    delete pass;
}

fernn_status fernn_output_shape(const fernn_model *model, int64_t batch, int64_t input_frames,
                                int64_t output_frames, int64_t shape[5], int *rank) {
    return guard([&] {
        const ModelHandle &h = handle(model);
        require(shape, "shape");
        require(rank, "rank");
        if (input_frames < 1 || input_frames > fernn::kMaxFrames) {
            throw InputError("input_frames " + std::to_string(input_frames) + "; allowed: 1.." +
                             std::to_string(fernn::kMaxFrames));
        }
        const std::vector<int64_t> s = h.output_shape(batch, output_frames);
        std::copy(s.begin(), s.end(), shape);
        *rank = int(s.size());
    });
}

fernn_status fernn_forward(fernn_model *model, fernn_pass *pass, const void *inputs,
                           const int64_t input_shape[5], int64_t output_frames, int flags,
                           void *outputs, int64_t output_count) {
    return guard([&] {
        ModelHandle &h = handle(model);
        require(input_shape, "input_shape");
        if (flags & ~(FERNN_TRAIN | FERNN_KEEP)) {
            throw InputError("flags " + std::to_string(flags) +
                             "; allowed: FERNN_EVAL (0), FERNN_TRAIN (1), FERNN_KEEP (2) and "
                             "their sums");
        }
        fernn::capi::ForwardRequest r;
        r.inputs = inputs;
        r.input_shape.assign(input_shape, input_shape + 5);
        r.output_frames = output_frames;
        r.train = flags & FERNN_TRAIN;
        r.keep = flags & FERNN_KEEP;
        r.outputs = outputs;
        r.output_count = output_count;
        h.forward(r, pass_of(pass));
    });
}

fernn_status fernn_backward(fernn_model *model, fernn_pass *pass, const void *output_gradient,
                            int64_t output_count, void *gradients, int64_t gradient_count) {
    return guard([&] {
        handle(model).backward(output_gradient, output_count, gradients, gradient_count,
                               pass_of(pass));
    });
}

fernn_status fernn_hidden_states(fernn_model *model, fernn_pass *pass, int layer, void *states,
                                 int64_t count) {
    return guard([&] { handle(model).hidden_states(layer, states, count, pass_of(pass)); });
}

fernn_status fernn_hidden_shape(const fernn_model *model, const fernn_pass *pass, int layer,
                                int64_t shape[6]) {
    return guard([&] {
        const ModelHandle &h = handle(model);
        require(shape, "shape");
        const std::vector<int64_t> s = h.hidden_shape(layer, pass_of(pass));
        std::copy(s.begin(), s.end(), shape);
    });
}

}  // extern "C"
