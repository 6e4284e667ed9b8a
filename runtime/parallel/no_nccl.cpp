// Builds without nccl.h (no CUDA toolkit at build time): CUDA models average their gradients
// through host memory and MPI instead.
#include "runtime/parallel/device_averager.h"

namespace fernn {

std::unique_ptr<DeviceAverager> nccl_averager(Communicator &) {
    throw CommunicationError(
        "this fernn was built without NCCL (nccl.h was not found; install "
        "the CUDA toolkit at /usr/local/cuda and rebuild)");
}

}  // namespace fernn
