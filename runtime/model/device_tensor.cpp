#include "runtime/model/device_tensor.h"

#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "runtime/plan/arguments.h"

namespace fernn {

namespace {

constexpr uint64_t kHostDirty = halide_buffer_flag_host_dirty,
                   kDeviceDirty = halide_buffer_flag_device_dirty;

template <typename T>
halide_type_t type_of() {
    return halide_type_t(std::is_floating_point_v<T> ? halide_type_float : halide_type_int,
                         8 * sizeof(T));
}

}  // namespace

template <typename T>
void Tensor<T>::describe(void *host, const std::vector<int> &extents) {
    if (extents.size() > 6) throw std::logic_error("Tensor: more than 6 dimensions");
    extents_ = extents;
    view_.buffer = halide_buffer_t{};
    view_.buffer.host = static_cast<uint8_t *>(host);
    view_.buffer.type = type_of<T>();
    view_.buffer.dimensions = int32_t(extents.size());
    view_.buffer.dim = view_.dims;
    int32_t stride = 1;
    size_ = 1;
    for (size_t i = 0; i < extents.size(); ++i) {
        view_.dims[i] = halide_dimension_t{0, extents[i], stride, 0};
        stride *= extents[i];
        size_ *= size_t(extents[i]);
    }
}

template <typename T>
Tensor<T>::Tensor(const ModelLibrary &lib, std::vector<int> extents)
    : lib_(&lib), interface_(lib.device_interface()) {
    describe(nullptr, extents);
    if (!interface_) {
        host_.resize(size_);
        view_.buffer.host = reinterpret_cast<uint8_t *>(host_.data());
        return;
    }
    lib.check(lib.device_calls().malloc(nullptr, &view_.buffer, interface_), "device allocation");
    owns_device_ = true;
}

template <typename T>
Tensor<T> Tensor<T>::wrap(const ModelLibrary &lib, T *host, std::vector<int> extents) {
    if (lib.device_interface()) throw std::logic_error("Tensor::wrap: host memory on a device");
    Tensor<T> t;
    t.lib_ = &lib;
    t.describe(host, extents);
    t.is_view_ = true;
    return t;
}

template <typename T>
Tensor<T>::~Tensor() {
    release();
}

template <typename T>
void Tensor<T>::release() {
    if (lib_ && interface_ && view_.buffer.device) {
        if (owns_device_) {
            lib_->device_calls().free(nullptr, &view_.buffer);
        } else if (is_view_) {
            lib_->device_calls().detach(nullptr, &view_.buffer);
        }
    }
    owns_device_ = is_view_ = false;
}

template <typename T>
Tensor<T>::Tensor(Tensor &&other) noexcept {
    *this = std::move(other);
}

template <typename T>
Tensor<T> &Tensor<T>::operator=(Tensor &&other) noexcept {
    if (this == &other) return *this;
    release();
    lib_ = other.lib_;
    interface_ = other.interface_;
    host_ = std::move(other.host_);
    extents_ = other.extents_;
    size_ = other.size_;
    owns_device_ = other.owns_device_;
    is_view_ = other.is_view_;
    view_.buffer = other.view_.buffer;
    std::memcpy(view_.dims, other.view_.dims, sizeof view_.dims);
    view_.buffer.dim = view_.dims;
    // A CPU tensor's buffer points into host_, which moved with its memory unchanged.
    other.view_.buffer = halide_buffer_t{};
    other.owns_device_ = other.is_view_ = false;
    other.lib_ = nullptr;
    other.size_ = 0;  // a moved-from tensor holds nothing
    other.extents_.clear();
    return *this;
}

template <typename T>
void Tensor<T>::upload(const T *data) {
    if (!on_device()) {
        std::memcpy(view_.buffer.host, data, size_ * sizeof(T));
        return;
    }
    if (host_.size() != size_) host_.resize(size_);
    std::memcpy(host_.data(), data, size_ * sizeof(T));
    view_.buffer.host = reinterpret_cast<uint8_t *>(host_.data());
    view_.buffer.flags = (view_.buffer.flags & ~kDeviceDirty) | kHostDirty;
    lib_->check(lib_->device_calls().copy_to_device(nullptr, &view_.buffer, interface_),
                "copy to device");
}

template <typename T>
void Tensor<T>::download_to_mirror() {
    if (!on_device()) return;
    if (host_.size() != size_) host_.resize(size_);
    view_.buffer.host = reinterpret_cast<uint8_t *>(host_.data());
    // The device copy is always the current one, also when pipelines wrote it through views
    // (which mark only the view device-dirty): without the flag Halide would copy nothing.
    view_.buffer.flags = (view_.buffer.flags & ~kHostDirty) | kDeviceDirty;
    lib_->check(lib_->device_calls().copy_to_host(nullptr, &view_.buffer), "copy to host");
}

template <typename T>
void Tensor<T>::synchronize() {
    if (on_device()) lib_->check(lib_->device_calls().sync(nullptr, &view_.buffer), "device sync");
}

template <typename T>
void Tensor<T>::download(T *data) {
    download_to_mirror();
    std::memcpy(data, view_.buffer.host, size_ * sizeof(T));
}

template <typename T>
void Tensor<T>::fill(T value) {
    if (!on_device()) {
        T *p = reinterpret_cast<T *>(view_.buffer.host);
        std::fill(p, p + size_, value);
        return;
    }
    if (std::is_floating_point_v<T> && value == T(0) && (sizeof(T) == 8) == lib_->is_float64()) {
        // Zeros are written on the device by the library's fill_zero pipeline: nothing
        // crosses the bus (a hidden-state gradient can be a gigabyte).
        Tensor<T> flat = view(0, {int(size_)});
        const ModelPlan &plan = lib_->plan();
        lib_->call(plan.pipeline(plan.optimizer, Op::FillZero))
            .bind(arg::zeros, *flat.buffer())
            .run();
        return;
    }
    AlignedVector<T> values(size_, value);
    upload(values.data());
}

template <typename T>
Tensor<T> Tensor<T>::view(size_t offset, std::vector<int> extents) {
    Tensor<T> v;
    v.lib_ = lib_;
    v.interface_ = interface_;
    v.describe(nullptr, extents);
    if (offset + v.size_ > size_) throw std::logic_error("Tensor::view out of range");
    v.is_view_ = true;
    if (!on_device()) {
        v.view_.buffer.host = view_.buffer.host + offset * sizeof(T);
        return v;
    }
    // CUDA device handles are device addresses: a view is the parent's address plus an offset.
    lib_->check(lib_->device_calls().wrap(nullptr, &v.view_.buffer,
                                          view_.buffer.device + offset * sizeof(T)),
                "device view");
    return v;
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace fernn
