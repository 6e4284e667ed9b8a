// Device work on a CUDA model's buffers that is not a Halide pipeline (NCCL's collectives): it
// must run in the CUDA context Halide created for the library (a buffer's device address means
// nothing in another) and on the stream Halide's kernels use, so that it is ordered after the
// kernels that wrote the buffer and before those that read it, without a host synchronization.
#pragma once

#include <cstdint>

#include "runtime/model/device_tensor.h"

namespace fernn {

class CudaContextScope {
  public:
    // Makes the library's CUDA context current on this thread until destruction. Throws
    // std::runtime_error when the library does not export the calls (compiled by an older
    // fernn: recompile) or the driver refuses.
    explicit CudaContextScope(const ModelLibrary &lib);
    ~CudaContextScope();
    CudaContextScope(const CudaContextScope &) = delete;
    CudaContextScope &operator=(const CudaContextScope &) = delete;

    // The stream (a CUstream) Halide's kernels run on in this context.
    void *stream() const { return stream_; }
    // The device address of a tensor on this library's device.
    void *address(Tensor<float> &t) const;

  private:
    const ModelLibrary &lib_;
    void *stream_ = nullptr;
    int (*pop_)(void **) = nullptr;
};

}  // namespace fernn
