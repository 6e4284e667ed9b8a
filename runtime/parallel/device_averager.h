// Averages of device buffers over the ranks without a round trip through host memory: NCCL for
// CUDA models. NCCL (libnccl.so.2, from the CUDA toolkit) is loaded at run time, so nothing of
// fernn links it and only a run that uses it needs it.
#pragma once

#include <cstddef>
#include <memory>

#include "runtime/parallel/communicator.h"

namespace fernn {

class DeviceAverager {
  public:
    virtual ~DeviceAverager() = default;
    // Replaces `count` floats at device address `data` with their mean over the ranks, enqueued
    // on `stream` (a CUstream) of the CUDA context current on this thread; ordered after the work
    // before it on that stream, and before the work after it.
    virtual void average(void *data, size_t count, void *stream) = 0;
    virtual std::string engine() const = 0;  // e.g. "NCCL 2.28.3"
};

// NCCL over the ranks of `world` (rank 0's NCCL id reaches the others through world), on the
// device of the CUDA context current on this thread. Throws CommunicationError saying why when
// NCCL cannot be loaded or does not start.
std::unique_ptr<DeviceAverager> nccl_averager(Communicator &world);

}  // namespace fernn
