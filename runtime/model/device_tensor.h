// Tensors the pipelines read and write, kept on the device the model runs on.
//
// On the CPU a Tensor is host memory (128-byte aligned). On CUDA it owns device memory for
// its whole life and a host mirror used only for uploads and downloads: a pipeline's output
// stays on the device (Halide marks it device-dirty) and the next pipeline reads it there, so
// a training step moves nothing between host and device but its input frames and a few
// scalars. Views (DeviceView) alias part of another tensor's memory, e.g. each weight inside
// the contiguous parameter buffer.
#pragma once

#include <vector>

#include "runtime/formats/array.h"
#include "runtime/model/model_library.h"

namespace fernn {

template <typename T>
class Tensor {
  public:
    Tensor() = default;
    // Allocates extents (innermost first) on the library's current device; contents undefined.
    Tensor(const ModelLibrary &lib, std::vector<int> extents);
    // CPU memory someone else owns (a C API caller's), read and written in place; a view, so
    // nothing is freed or pooled. Throws std::logic_error when lib runs on a device.
    static Tensor wrap(const ModelLibrary &lib, T *host, std::vector<int> extents);
    ~Tensor();
    Tensor(Tensor &&other) noexcept;
    Tensor &operator=(Tensor &&other) noexcept;
    Tensor(const Tensor &) = delete;
    Tensor &operator=(const Tensor &) = delete;

    halide_buffer_t *buffer() { return &view_.buffer; }
    size_t size() const { return size_; }
    bool on_device() const { return lib_ && interface_; }
    const std::vector<int> &extents() const { return extents_; }

    // Host data in, host data out (host layout = the buffer's dense layout).
    void upload(const T *data);
    void download(T *data);
    void fill(T value);
    // On the CPU, the storage itself; on CUDA, valid after download_to_mirror().
    T *host() { return host_.data(); }
    const T *host() const { return host_.data(); }
    void download_to_mirror();
    // Waits until the device work writing this tensor is done (CUDA runs asynchronously).
    void synchronize();

    // A view of `extents` elements starting at `offset` (in elements) of this tensor.
    Tensor view(size_t offset, std::vector<int> extents);
    bool is_view() const { return is_view_; }

  private:
    void release();

    void describe(void *host, const std::vector<int> &extents);

    const ModelLibrary *lib_ = nullptr;
    const halide_device_interface_t *interface_ = nullptr;
    AlignedVector<T> host_;
    struct {
        halide_buffer_t buffer{};
        halide_dimension_t dims[6]{};
    } view_;
    std::vector<int> extents_;
    size_t size_ = 0;
    bool owns_device_ = false, is_view_ = false;
};

// Tensors kept for reuse by their extents: after the first training step a step allocates
// nothing (device allocations are slow, and freeing device memory waits for the GPU).
template <typename T>
class TensorPool {
  public:
    // A tensor of these extents on lib's current device, contents undefined.
    Tensor<T> take(const ModelLibrary &lib, const std::vector<int> &extents) {
        for (size_t i = free_.size(); i-- > 0;) {
            if (free_[i].extents() == extents) {
                Tensor<T> t = std::move(free_[i]);
                free_.erase(free_.begin() + std::ptrdiff_t(i));
                return t;
            }
        }
        return Tensor<T>(lib, extents);
    }
    // Keeps t for a later take(); views own nothing and are dropped.
    void give(Tensor<T> &&t) {
        if (!t.is_view() && t.size() > 0) free_.push_back(std::move(t));
    }
    void give(std::vector<Tensor<T>> &ts) {
        for (auto &t : ts) give(std::move(t));
        ts.clear();
    }

  private:
    std::vector<Tensor<T>> free_;
};

}  // namespace fernn
