// Data parallelism for training and evaluation, over a Communicator (runtime/parallel): every
// rank holds the whole model and computes a contiguous share of each global batch (or of a fixed
// evaluation set); the model-level collectives live here: averaging gradients and BatchNorm
// statistics, sums of scores, sending rank 0's state to all, and checking that every rank's
// parameters still agree.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/model/parameters.h"
#include "runtime/parallel/communicator.h"

namespace fernn {

class DataParallel {
  public:
    explicit DataParallel(Communicator &world) : world_(world) {}

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

    // Sums over ranks, in place (scores, counts, losses).
    void sum(double *values, size_t count) { world_.allreduce_sum(values, count); }
    // The mean over ranks of a tensor on the model's device (gradients, running statistics): one
    // allreduce of its contiguous buffer, on the host (CPU tensors in place; device tensors
    // through their host mirror).
    void average(Tensor<float> &t);
    // Rank 0's values, to every rank.
    void from_leader(float *values, size_t count);
    void from_leader(int64_t *values, size_t count);

    // Stops every rank with a CommunicationError naming the ranks whose parameters differ from
    // rank 0's (compared by a 64-bit hash of their bytes).
    void check_agreement(Tensor<float> &params);

  private:
    Communicator &world_;
};

// The error for a global batch that the ranks cannot share equally (`where`: the option or file
// it came from; batch_fixed: a resumed run's, which cannot change).
void check_batch_shares(int batch, int ranks, const std::string &where, bool batch_fixed = false);

}  // namespace fernn
