#include "runtime/model/model_library.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <type_traits>

#include "runtime/model/manifest.h"

namespace fernn {

namespace fs = std::filesystem;

BufferView::BufferView(void *data, halide_type_t type, const std::vector<int> &extents) {
    buffer.host = static_cast<uint8_t *>(data);
    buffer.type = type;
    buffer.dimensions = static_cast<int32_t>(extents.size());
    buffer.dim = dims;
    int32_t stride = 1;
    for (size_t i = 0; i < extents.size(); ++i) {
        dims[i].min = 0;
        dims[i].extent = extents[i];
        dims[i].stride = stride;
        stride *= extents[i];
    }
}

namespace {

// Halide reports errors through one process-wide handler; the message is kept until the
// failing call picks it up.
std::mutex g_error_mutex;
std::string g_last_error;

void record_halide_error(void *, const char *message) {
    std::lock_guard<std::mutex> lock(g_error_mutex);
    g_last_error = message;
}

std::string take_halide_error() {
    std::lock_guard<std::mutex> lock(g_error_mutex);
    std::string m = std::move(g_last_error);
    g_last_error.clear();
    return m;
}

template <typename F>
F symbol(void *handle, const std::string &name, const std::string &library) {
    void *p = dlsym(handle, name.c_str());
    if (!p) throw InputError(library + ": symbol " + name + " is missing; recompile the model");
    return reinterpret_cast<F>(p);
}

}  // namespace

void ModelLibrary::use_spec(const Spec &spec) {
    if (spec.model_hash() != spec_.model_hash()) {
        throw InputError(dir_ + ": compiled from another model (model hash " + spec_.model_hash() +
                         ") than " + spec.file + " (" + spec.model_hash() +
                         "); recompile it or pass its spec");
    }
    spec_ = spec;
}

std::shared_ptr<ModelLibrary> ModelLibrary::open(const std::string &dir) {
    std::string manifest_path;
    if (!fs::is_directory(dir)) throw InputError(dir + ": not a compiled model directory");
    for (const auto &entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 14 && name.substr(name.size() - 14) == ".manifest.json") {
            if (!manifest_path.empty()) throw InputError(dir + ": holds more than one manifest");
            manifest_path = entry.path().string();
        }
    }
    if (manifest_path.empty())
        throw InputError(dir + ": no <name>.manifest.json; run fernn compile");

    Manifest m = read_manifest(manifest_path);
    std::shared_ptr<ModelLibrary> lib(new ModelLibrary());
    lib->dir_ = dir;
    lib->spec_ = m.spec;
    lib->plan_ = m.plan;
    lib->float64_ = m.float64;
    const std::string so = (fs::path(dir) / m.library).string();
    if (library_hash(so) != m.library_hash) {
        throw InputError(so + ": does not match the hash recorded in " + manifest_path +
                         " (truncated, damaged or replaced); recompile the model");
    }
    // RTLD_LOCAL: each model keeps its own Halide runtime and pipeline symbols.
    lib->handle_ = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle_) throw InputError(so + ": cannot load: " + dlerror());
    using SetHandler = void (*)(void (*)(void *, const char *));
    symbol<SetHandler>(lib->handle_, "halide_set_error_handler", so)(record_halide_error);
    lib->set_num_threads_ = symbol<int (*)(int)>(lib->handle_, "halide_set_num_threads", so);
    for (const ManifestPipeline &p : m.pipelines) {
        using Meta = const halide_filter_metadata_t *(*)();
        const halide_filter_metadata_t *meta =
            symbol<Meta>(lib->handle_, p.symbol + "_metadata", so)();
        // The manifest's tensors must be exactly the library's arguments, in order.
        bool match = int(p.arguments.size()) == meta->num_arguments;
        for (int i = 0; match && i < meta->num_arguments; ++i) {
            const std::string actual = meta->arguments[i].name;
            match = actual.substr(0, actual.find('$')) == p.arguments[i];
        }
        if (!match) {
            throw InputError(so + ": pipeline " + p.symbol + " does not match " + manifest_path +
                             "; recompile the model");
        }
        lib->pipelines_.push_back({p.name, p.device,
                                   symbol<int (*)(void **)>(lib->handle_, p.symbol + "_argv", so),
                                   meta, p.arguments});
    }
    const auto devices = lib->devices();
    lib->device_ =
        std::find(devices.begin(), devices.end(), "cpu") != devices.end() ? "cpu" : devices[0];
    if (std::find(devices.begin(), devices.end(), "cuda") != devices.end()) {
        auto &d = lib->device_calls_;
        auto load = [&](auto &call, const char *name) {
            call = symbol<std::remove_reference_t<decltype(call)>>(lib->handle_, name, so);
        };
        load(d.malloc, "halide_device_malloc");
        load(d.free, "halide_device_free");
        load(d.copy_to_device, "halide_copy_to_device");
        load(d.copy_to_host, "halide_copy_to_host");
        load(d.sync, "halide_device_sync");
        load(d.wrap, "halide_cuda_wrap_device_ptr");
        load(d.detach, "halide_cuda_detach_device_ptr");
        load(d.interface, "halide_cuda_device_interface");
        load(d.reuse_allocations, "halide_reuse_device_allocations");
        auto load_optional = [&](auto &call, const char *name) {
            call = reinterpret_cast<std::remove_reference_t<decltype(call)>>(
                dlsym(lib->handle_, name));
        };
        load_optional(d.acquire_context, "halide_cuda_acquire_context");
        load_optional(d.release_context, "halide_cuda_release_context");
        load_optional(d.get_stream, "halide_cuda_get_stream");
        load_optional(d.device_address, "halide_cuda_get_device_ptr");
    }
    lib->manifest_ = std::move(m.doc);
    return lib;
}

ModelLibrary::~ModelLibrary() {
    // The library stays mapped: Halide's worker threads may still be parked inside it.
}

ModelLibrary::Call ModelLibrary::call(const std::string &pipeline) const {
    for (size_t i = 0; i < pipelines_.size(); ++i) {
        if (pipelines_[i].name == pipeline && pipelines_[i].device == device_)
            return Call(*this, static_cast<int>(i));
    }
    throw InputError(dir_ + ": the model has no pipeline \"" + pipeline + "\"; recompile it");
}

void ModelLibrary::set_threads(int threads) const {
    set_num_threads_(threads);
}

std::vector<std::string> ModelLibrary::devices() const {
    std::vector<std::string> out;
    for (const auto &p : pipelines_) {
        if (std::find(out.begin(), out.end(), p.device) == out.end()) out.push_back(p.device);
    }
    return out;
}

void ModelLibrary::check(int rc, const std::string &what) const {
    if (rc == 0) return;
    const std::string message = take_halide_error();
    throw std::runtime_error(what + " failed (Halide error " + std::to_string(rc) +
                             "): " + (message.empty() ? "no message" : message));
}

const halide_device_interface_t *ModelLibrary::device_interface() const {
    return device_ == "cuda" ? device_calls_.interface() : nullptr;
}

void ModelLibrary::use_device(const std::string &device) {
    const auto available = devices();
    if (std::find(available.begin(), available.end(), device) == available.end()) {
        std::string list;
        for (const auto &d : available) list += (list.empty() ? "" : ", ") + d;
        throw InputError(dir_ + ": the model has no " + device + " pipelines (compiled for " +
                         list + "); compile it with --target host," + device);
    }
    if (device == "cuda") {
        // A one-element device allocation proves a driver and a device answer.
        float probe = 0;
        BufferView view(&probe, halide_type_t(halide_type_float, 32), {1});
        const int rc = device_calls_.malloc(nullptr, &view.buffer, device_calls_.interface());
        if (rc != 0) {
            const std::string message = take_halide_error();
            throw InputError("no CUDA device: " +
                             (message.empty()
                                  ? "the CUDA runtime failed (error " + std::to_string(rc) + ")"
                                  : message));
        }
        device_calls_.free(nullptr, &view.buffer);
        // Pipelines' own temporaries are allocated and freed on every call: keep freed device
        // memory for reuse (cuMemAlloc is slow and cuMemFree waits for the GPU).
        device_calls_.reuse_allocations(nullptr, true);
    }
    device_ = device;
}

std::vector<ModelLibrary::PipelineTime> ModelLibrary::times() const {
    std::vector<PipelineTime> out;
    for (const auto &p : pipelines_) {
        if (p.device == device_) out.push_back({p.name, p.calls, p.seconds});
    }
    return out;
}

void ModelLibrary::reset_times() const {
    for (const auto &p : pipelines_) {
        p.calls = 0;
        p.seconds = 0;
    }
}

ModelLibrary::Call::Call(const ModelLibrary &lib, int index) : lib_(lib), index_(index) {
    const auto *meta = lib_.pipelines_[index_].metadata;
    args_.assign(meta->num_arguments, nullptr);
}

ModelLibrary::Call &ModelLibrary::Call::bind(const std::string &name, BufferView &view) {
    return bind(name, view.buffer);
}

ModelLibrary::Call &ModelLibrary::Call::bind(const std::string &name, halide_buffer_t &buffer) {
    const auto &p = lib_.pipelines_[index_];
    for (int i = 0; i < p.metadata->num_arguments; ++i) {
        const halide_filter_argument_t &a = p.metadata->arguments[i];
        if (name != p.arguments[i]) continue;
        if (a.kind == halide_argument_kind_input_scalar || a.dimensions != buffer.dimensions ||
            a.type.code != buffer.type.code || a.type.bits != buffer.type.bits) {
            throw std::logic_error(p.name + ": argument " + name +
                                   " has another kind, rank or type");
        }
        args_[i] = &buffer;
        return *this;
    }
    throw std::logic_error(p.name + " has no argument " + name);
}

ModelLibrary::Call &ModelLibrary::Call::scalar(const std::string &name, double value) {
    const auto &p = lib_.pipelines_[index_];
    for (int i = 0; i < p.metadata->num_arguments; ++i) {
        const halide_filter_argument_t &a = p.metadata->arguments[i];
        if (name != p.arguments[i]) continue;
        if (a.kind != halide_argument_kind_input_scalar) {
            throw std::logic_error(p.name + ": argument " + name + " is not a scalar");
        }
        if (a.type.bits == 64) {
            scalar_f64_.push_back(value);
            args_[i] = &scalar_f64_.back();
        } else {
            scalar_f32_.push_back(static_cast<float>(value));
            args_[i] = &scalar_f32_.back();
        }
        return *this;
    }
    throw std::logic_error(p.name + " has no argument " + name);
}

void ModelLibrary::Call::run() {
    const auto &p = lib_.pipelines_[index_];
    for (int i = 0; i < p.metadata->num_arguments; ++i) {
        if (!args_[i])
            throw std::logic_error(p.name + ": argument " + p.metadata->arguments[i].name +
                                   " is unbound");
    }
    const auto t0 = std::chrono::steady_clock::now();
    int rc = p.entry(args_.data());
    if (rc == 0 && lib_.sync_each_call_ && p.device == "cuda") {
        // Kernels run asynchronously: wait for this pipeline's outputs so its time is its own.
        for (int i = 0; i < p.metadata->num_arguments && rc == 0; ++i) {
            if (p.metadata->arguments[i].kind == halide_argument_kind_output_buffer) {
                rc = lib_.device_calls_.sync(nullptr, static_cast<halide_buffer_t *>(args_[i]));
            }
        }
    }
    p.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ++p.calls;
    if (rc != 0) {
        const std::string message = take_halide_error();
        throw std::runtime_error("pipeline " + p.name + " failed (Halide error " +
                                 std::to_string(rc) +
                                 "): " + (message.empty() ? "no message" : message));
    }
}

}  // namespace fernn
