// A compiled model: lib<name>.so and its manifest, loaded with dlopen. Pipelines are called
// by argument name through their AOT `_argv` entry points; every argument is checked against
// the library's own Halide metadata, so a stale or foreign library fails with a message
// instead of reading the wrong memory.
#pragma once

#include <HalideRuntime.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/model/manifest.h"
#include "runtime/plan/plan.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/spec.h"

namespace fernn {

// A dense host tensor as Halide sees it: extents innermost first, strides dense.
struct BufferView {
    halide_buffer_t buffer{};
    halide_dimension_t dims[6]{};

    BufferView() = default;
    BufferView(void *data, halide_type_t type, const std::vector<int> &extents);
    BufferView(const BufferView &) = delete;
    BufferView &operator=(const BufferView &) = delete;
};

class ModelLibrary {
  public:
    // Opens DIR/<name>.manifest.json (the only manifest in DIR) and its library.
    static std::shared_ptr<ModelLibrary> open(const std::string &dir);
    ~ModelLibrary();

    const json &manifest() const { return manifest_; }
    const std::string &dir() const { return dir_; }
    // The spec the library runs: the one it was compiled from, or the one use_spec gave.
    const Spec &spec() const { return spec_; }
    // Runs for `spec`, which must have the compiled model's hash: its sequence lengths and
    // training defaults are not part of the library (the model hash leaves them out), so one
    // compiled model serves every spec that differs only there, and the caller's must be used,
    // not those of whichever spec compiled the library first. Throws InputError otherwise.
    void use_spec(const Spec &spec);
    // The plan of that spec; the manifest's record of it must be the same.
    const ModelPlan &plan() const { return plan_; }
    bool is_float64() const { return float64_; }

    // Binds arguments by name, then runs the pipeline; throws with Halide's message on error.
    class Call {
      public:
        Call &bind(const std::string &name, BufferView &view);
        Call &bind(const std::string &name, halide_buffer_t &buffer);
        Call &scalar(const std::string &name, double value);
        void run();

      private:
        friend class ModelLibrary;
        Call(const ModelLibrary &lib, int index);
        const ModelLibrary &lib_;
        int index_;
        std::vector<void *> args_;
        // Deques: args_ points into them, so growing must not move what is there.
        std::deque<double> scalar_f64_;
        std::deque<float> scalar_f32_;
    };
    Call call(const std::string &pipeline) const;
    Call call(const PipelineSignature &pipeline) const { return call(pipeline.name); }

    // Halide's worker threads for every pipeline of this library (0: one per core).
    void set_threads(int threads) const;

    // The devices the library has pipelines for ("cpu", "cuda"), and the one calls use.
    std::vector<std::string> devices() const;
    const std::string &device() const { return device_; }
    // Selects the device; for "cuda" also checks that a CUDA device answers, else throws
    // InputError("no CUDA device: ...").
    void use_device(const std::string &device);
    // The device interface of CUDA pipelines (nullptr for "cpu"), for the runtime's buffers.
    const halide_device_interface_t *device_interface() const;

    // The library's own Halide runtime calls for device memory (CUDA libraries only).
    struct DeviceCalls {
        int (*malloc)(void *, halide_buffer_t *, const halide_device_interface_t *) = nullptr;
        int (*free)(void *, halide_buffer_t *) = nullptr;
        int (*copy_to_device)(void *, halide_buffer_t *,
                              const halide_device_interface_t *) = nullptr;
        int (*copy_to_host)(void *, halide_buffer_t *) = nullptr;
        int (*sync)(void *, halide_buffer_t *) = nullptr;
        int (*wrap)(void *, halide_buffer_t *, uint64_t) = nullptr;
        int (*detach)(void *, halide_buffer_t *) = nullptr;
        const halide_device_interface_t *(*interface)() = nullptr;
        int (*reuse_allocations)(void *, bool) = nullptr;
        // For device work outside Halide's pipelines (NCCL): Halide's CUDA context, the stream
        // its kernels run on, a buffer's device address. Optional: libraries compiled before
        // they were exported lack them (nullptr).
        int (*acquire_context)(void *, void **, bool) = nullptr;
        int (*release_context)(void *) = nullptr;
        int (*get_stream)(void *, void *, void **) = nullptr;
        uintptr_t (*device_address)(void *, halide_buffer_t *) = nullptr;
    };
    const DeviceCalls &device_calls() const { return device_calls_; }
    // Throws with Halide's last error message when rc is non-zero.
    void check(int rc, const std::string &what) const;

    // Wall time spent in each pipeline since the last reset (for fernn bench).
    struct PipelineTime {
        std::string name;
        int64_t calls;
        double seconds;
    };
    std::vector<PipelineTime> times() const;
    void reset_times() const;
    // On CUDA, wait for each pipeline's kernels before its time is taken (fernn bench's
    // per-pipeline times); otherwise launches return at once and the work runs on.
    void set_sync_each_call(bool sync) const { sync_each_call_ = sync; }

  private:
    struct Pipeline {
        std::string name, device;
        int (*entry)(void **);
        const halide_filter_metadata_t *metadata;
        // Argument names as the manifest lists them, in the library's argument order. Halide's
        // own names may carry a "$n" suffix when the compiling process built other pipelines.
        std::vector<std::string> arguments;
        mutable int64_t calls = 0;
        mutable double seconds = 0;
    };
    ModelLibrary() = default;

    std::string dir_;
    json manifest_;
    Spec spec_;
    ModelPlan plan_;
    bool float64_ = false;
    void *handle_ = nullptr;
    std::vector<Pipeline> pipelines_;
    int (*set_num_threads_)(int) = nullptr;
    std::string device_ = "cpu";
    DeviceCalls device_calls_;
    mutable bool sync_each_call_ = false;
};

}  // namespace fernn
