#include "runtime/model/cuda_context.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace fernn {

namespace {

// The CUDA driver's context stack calls, from the driver Halide's runtime already loaded.
template <typename F>
F driver_call(const char *name) {
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (!driver) driver = dlopen("libcuda.so", RTLD_NOW | RTLD_NOLOAD);
    void *f = driver ? dlsym(driver, name) : nullptr;
    if (!f) throw std::runtime_error(std::string("the CUDA driver lacks ") + name);
    return reinterpret_cast<F>(f);
}

}  // namespace

CudaContextScope::CudaContextScope(const ModelLibrary &lib) : lib_(lib) {
    const auto &d = lib.device_calls();
    if (!d.acquire_context || !d.release_context || !d.get_stream || !d.device_address) {
        throw std::runtime_error(
            "the compiled model does not export Halide's CUDA context calls (compiled by an "
            "older fernn); recompile it");
    }
    void *context = nullptr;
    lib.check(d.acquire_context(nullptr, &context, true), "acquire the CUDA context");
    auto push = driver_call<int (*)(void *)>("cuCtxPushCurrent_v2");
    pop_ = driver_call<int (*)(void **)>("cuCtxPopCurrent_v2");
    if (const int rc = push(context); rc != 0) {
        d.release_context(nullptr);
        throw std::runtime_error("cuCtxPushCurrent failed (CUDA error " + std::to_string(rc) + ")");
    }
    if (const int rc = d.get_stream(nullptr, context, &stream_); rc != 0) {
        void *ignored = nullptr;
        pop_(&ignored);
        d.release_context(nullptr);
        lib.check(rc, "get the CUDA stream");
    }
}

CudaContextScope::~CudaContextScope() {
    void *ignored = nullptr;
    pop_(&ignored);
    lib_.device_calls().release_context(nullptr);
}

void *CudaContextScope::address(Tensor<float> &t) const {
    return reinterpret_cast<void *>(lib_.device_calls().device_address(nullptr, t.buffer()));
}

}  // namespace fernn
