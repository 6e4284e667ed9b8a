#include "runtime/model/cuda_probe.h"

#include <dlfcn.h>

#include <cstdlib>

namespace fernn {

namespace {

// The number of devices, or why there are none (`devices` 0).
std::string probe(int &devices) {
    devices = 0;
    // The driver stays loaded: Halide's CUDA runtime opens the same library afterwards.
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!driver) return "the CUDA driver (libcuda.so.1) is not installed";
    using Init = int (*)(unsigned);
    using Count = int (*)(int *);
    auto init = reinterpret_cast<Init>(dlsym(driver, "cuInit"));
    auto count = reinterpret_cast<Count>(dlsym(driver, "cuDeviceGetCount"));
    if (!init || !count) return "libcuda.so.1 lacks cuInit or cuDeviceGetCount";
    const int rc = init(0);
    if (rc == 100) return "the driver found no CUDA device (CUDA_ERROR_NO_DEVICE)";
    if (rc != 0) return "cuInit failed (CUDA error " + std::to_string(rc) + ")";
    if (count(&devices) != 0 || devices == 0) {
        devices = 0;
        return "the driver reports no CUDA device";
    }
    return "";
}

}  // namespace

double cuda_device_memory_bytes() {
    int count = 0;
    if (!probe(count).empty()) return 0;
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);  // loaded by probe
    using Get = int (*)(int *, int);
    using TotalMem = int (*)(size_t *, int);
    auto get = reinterpret_cast<Get>(dlsym(driver, "cuDeviceGet"));
    auto total = reinterpret_cast<TotalMem>(dlsym(driver, "cuDeviceTotalMem_v2"));
    const char *env = std::getenv("HL_GPU_DEVICE");
    const int ordinal = env ? std::atoi(env) : 0;
    int device = 0;
    size_t bytes = 0;
    if (!get || !total || ordinal < 0 || ordinal >= count || get(&device, ordinal) != 0 ||
        total(&bytes, device) != 0)
        return 0;
    return double(bytes);
}

std::string cuda_unavailable_reason(int *devices) {
    int count = 0;
    const std::string why = probe(count);
    if (devices) *devices = count;
    return why;
}

}  // namespace fernn
