#include "runtime/training/data_parallel.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "runtime/model/cuda_context.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/spec.h"

namespace fernn {

namespace {

// The tensor's values on the host: CPU storage itself, or a device tensor's mirror.
float *host_values(Tensor<float> &t) {
    if (t.on_device()) {
        t.download_to_mirror();
        return t.host();
    }
    return reinterpret_cast<float *>(t.buffer()->host);
}

}  // namespace

void check_batch_shares(int batch, int ranks, const std::string &where, bool batch_fixed) {
    if (ranks <= 1 || batch % ranks == 0) return;
    std::string divisors;
    for (int n = 1; n <= batch && divisors.size() < 60; ++n) {
        if (batch % n == 0) divisors += (divisors.empty() ? "" : ", ") + std::to_string(n);
    }
    throw InputError(
        where + ": the global batch " + std::to_string(batch) + " cannot be shared equally by " +
        std::to_string(ranks) + " ranks; allowed: " +
        (batch_fixed ? std::string()
                     : "a batch that is a multiple of " + std::to_string(ranks) + ", or ") +
        "a number of ranks (mpirun -np) dividing " + std::to_string(batch) + " (" + divisors + ")");
}

DataParallel::Share DataParallel::share(int64_t total) const {
    const int64_t n = size(), r = rank(), base = total / n, extra = total % n;
    return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

DataParallel::DataParallel(Communicator &world, const ModelLibrary *lib)
    : world_(world), lib_(lib) {
    const char *env = std::getenv("FERNN_NCCL");
    const std::string nccl = env ? env : "";
    const bool launched = world.engine() == "mpi";
    if (launched) averaging_ = "MPI through host memory";
    // NCCL: CUDA models under a launcher, unless refused; also alone when required.
    const bool cuda = lib && lib->device() == "cuda";
    if (!cuda || nccl == "0" || !(launched || nccl == "1")) return;
    try {
        CudaContextScope scope(*lib);
        device_ = nccl_averager(world);
        averaging_ = device_->engine() + " on the device";
    } catch (const std::exception &e) {
        if (nccl == "1") throw;
        averaging_ += std::string(" (") + e.what() + ")";
    }
}

void DataParallel::average(Tensor<float> &t) {
    if (device_ && t.on_device()) {
        CudaContextScope scope(*lib_);
        device_->average(scope.address(t), t.size(), scope.stream());
        return;
    }
    if (size() == 1) return;
    float *values = host_values(t);
    world_.allreduce_sum(values, t.size());
    const float scale = 1.0f / float(size());
    for (size_t i = 0; i < t.size(); ++i) values[i] *= scale;
    if (t.on_device()) {
        const std::vector<float> copy(values, values + t.size());
        t.upload(copy.data());
    }
}

void DataParallel::from_leader(float *values, size_t count) {
    if (size() > 1) world_.broadcast(values, count * sizeof(float), 0);
}

void DataParallel::from_leader(int64_t *values, size_t count) {
    if (size() > 1) world_.broadcast(values, count * sizeof(int64_t), 0);
}

void DataParallel::check_agreement(Tensor<float> &params, Tensor<float> *statistics) {
    if (size() == 1) return;
    // Parameters that agree bit for bit hash alike on every rank.
    uint64_t mine = fnv1a(host_values(params), params.size() * sizeof(float));
    if (statistics)
        mine ^= fnv1a(host_values(*statistics), statistics->size() * sizeof(float)) * 31;
    uint64_t leaders = mine;
    world_.broadcast(&leaders, sizeof leaders, 0);
    // Every rank learns which ranks differ: one flag per rank, summed.
    std::vector<double> differs(size_t(size()), 0.0);
    differs[size_t(rank())] = mine != leaders ? 1.0 : 0.0;
    world_.allreduce_sum(differs.data(), differs.size());
    std::string ranks;
    int count = 0;
    for (int r = 0; r < size(); ++r) {
        if (differs[size_t(r)] == 0) continue;
        if (count++ < 16) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    }
    if (count == 0) return;
    throw CommunicationError(
        std::string(statistics ? "the parameters or BatchNorm statistics" : "the parameters") +
        " of rank" + (count == 1 ? " " : "s ") + ranks + (count > 16 ? " and more" : "") +
        " differ from rank 0's after the update (every rank should hold the "
        "same: a rank computed differently, e.g. on other hardware or with "
        "a damaged library); nothing was saved from this step");
}

}  // namespace fernn
