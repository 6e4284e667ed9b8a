// Data parallelism for training and evaluation, over a Communicator (runtime/parallel): every
// rank holds the whole model and computes a contiguous share of each global batch (or of a fixed
// evaluation set); the model-level collectives live here: averaging gradients and BatchNorm
// statistics, sums of scores, sending rank 0's state to all, and checking that every rank's
// parameters still agree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

#include "runtime/model/parameters.h"
#include "runtime/parallel/communicator.h"
#include "runtime/parallel/device_averager.h"

namespace fernn {

class DataParallel {
  public:
    // For a CUDA model (lib on "cuda") under a launcher, average() runs NCCL on the device
    // buffers when every rank can start it, else goes through host memory and MPI (the reason is
    // in averaging()). FERNN_NCCL=0 keeps NCCL off; FERNN_NCCL=1 requires it, also for a process
    // alone (to check the NCCL path on one GPU).
    explicit DataParallel(Communicator &world, const ModelLibrary *lib = nullptr);

    int rank() const { return world_.rank(); }
    int size() const { return world_.size(); }
    // Rank 0 writes the run directory, evaluation results and progress; the others only compute.
    bool leader() const { return world_.rank() == 0; }
    Communicator &world() { return world_; }

    // This rank's contiguous share of `total` items: the first total % N ranks take one more.
    struct Share {
        int64_t first = 0, count = 0;
    };
    Share share(int64_t total) const;
    // Calls f(first, n) for this rank's share of `total` items in batches of at most `batch`.
    template <typename F>
    void for_each_batch(int64_t total, int batch, F &&f) const {
        const Share mine = share(total);
        const int64_t end = mine.first + mine.count;
        for (int64_t first = mine.first; first < end; first += batch)
            f(first, int(std::min<int64_t>(batch, end - first)));
    }

    // How average() works, for the log: "" alone, else e.g. "NCCL 2.28.3 on the device" or
    // "MPI through host memory (NCCL is not available: ...)".
    const std::string &averaging() const { return averaging_; }

    // Sums over ranks, in place (scores, counts, losses).
    void sum(double *values, size_t count) { world_.allreduce_sum(values, count); }
    // The mean over ranks of a tensor on the model's device (gradients, running statistics): one
    // allreduce of its contiguous buffer, on the host (CPU tensors in place; device tensors
    // through their host mirror).
    void average(Tensor<float> &t);
    // Rank 0's values, to every rank.
    void from_leader(float *values, size_t count);
    void from_leader(int64_t *values, size_t count);

    // Stops every rank with a CommunicationError naming the ranks whose parameters (and
    // BatchNorm running statistics, when given) differ from rank 0's, compared by a 64-bit
    // hash of their bytes.
    void check_agreement(Tensor<float> &params, Tensor<float> *statistics = nullptr);

  private:
    Communicator &world_;
    const ModelLibrary *lib_;
    std::unique_ptr<DeviceAverager> device_;
    std::string averaging_;
};

// The error for a global batch that the ranks cannot share equally (`where`: the option or file
// it came from; batch_fixed: a resumed run's, which cannot change).
void check_batch_shares(int batch, int ranks, const std::string &where, bool batch_fixed = false);

}  // namespace fernn
