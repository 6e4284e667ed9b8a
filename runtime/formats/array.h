// A dense, C-ordered n-d array on the host: what .npy and .safetensors files hold.
#pragma once

#include <algorithm>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/formats/checked_size.h"

namespace fernn {

// Every buffer that reaches a Halide pipeline is allocated with Halide's own alignment (128
// bytes): a pipeline that reads back one of its outputs uses aligned vector loads on it.
constexpr size_t kBufferAlignment = 128;

template <typename T>
struct AlignedAllocator {
    using value_type = T;
    AlignedAllocator() = default;
    template <typename U>
    AlignedAllocator(const AlignedAllocator<U> &) {}
    T *allocate(size_t n) {
        return static_cast<T *>(::operator new(n * sizeof(T), std::align_val_t(kBufferAlignment)));
    }
    void deallocate(T *p, size_t) { ::operator delete(p, std::align_val_t(kBufferAlignment)); }
    // Default-initialization: a vector sized with (n) is not zero-filled (pipelines overwrite
    // their outputs entirely; writing zeros first would be one more pass over memory). Write
    // (n, T(0)) where zeros are meant.
    template <typename U>
    void construct(U *p) noexcept {
        ::new (static_cast<void *>(p)) U;
    }
    template <typename U, typename... Args>
    void construct(U *p, Args &&...args) {
        ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
    }
    template <typename U>
    bool operator==(const AlignedAllocator<U> &) const {
        return true;
    }
    template <typename U>
    bool operator!=(const AlignedAllocator<U> &) const {
        return false;
    }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

template <typename T>
struct Array {
    std::vector<int64_t> shape;
    AlignedVector<T> data;

    Array() = default;
    // Uninitialized contents (see AlignedAllocator::construct).
    explicit Array(std::vector<int64_t> s) : shape(std::move(s)), data(count(shape)) {}

    // Readers check shapes against their files first (checked_size.h); this check keeps any
    // other path from wrapping around into a small allocation.
    static int64_t count(const std::vector<int64_t> &s) {
        const auto n = shape_bytes(s, 1);
        if (!n || *n > uint64_t(INT64_MAX)) throw std::length_error("array shape out of range");
        return int64_t(*n);
    }
    int64_t numel() const { return static_cast<int64_t>(data.size()); }
};

// A dense, C-ordered n-d array someone else owns (an Array, or a caller's memory through the
// C API): what the model reads its inputs from without a copy.
template <typename T>
struct ArrayView {
    const T *data = nullptr;
    std::vector<int64_t> shape;

    ArrayView() = default;
    ArrayView(const Array<T> &a) : data(a.data.data()), shape(a.shape) {}  // NOLINT: implicit
    ArrayView(const T *d, std::vector<int64_t> s) : data(d), shape(std::move(s)) {}
};

// "(2, 3, 28, 28)" for messages.
std::string shape_text(const std::vector<int64_t> &shape);

// Frames [first, first + count) of a (B, T, ...) sequence, as (B, count, ...).
template <typename T>
Array<T> slice_frames(const Array<T> &seq, int64_t first, int64_t count) {
    std::vector<int64_t> shape = seq.shape;
    const int64_t frames = shape[1];
    int64_t frame = 1;
    for (size_t i = 2; i < shape.size(); ++i) frame *= shape[i];
    shape[1] = count;
    Array<T> out(shape);
    for (int64_t b = 0; b < shape[0]; ++b) {
        const T *src = seq.data.data() + (b * frames + first) * frame;
        std::copy(src, src + count * frame, out.data.data() + b * count * frame);
    }
    return out;
}

// Fills `out` from little-endian IEEE floats of `item_size` bytes (4 or 8) at `src`, converting
// to T; the files' payloads need not be aligned.
template <typename T>
void decode_floats(const char *src, size_t item_size, AlignedVector<T> &out);

}  // namespace fernn
