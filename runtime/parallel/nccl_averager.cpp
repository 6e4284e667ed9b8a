// NCCL's allreduce (ncclAvg) over device buffers. The types and signatures come from nccl.h
// (found at build time); the functions from libnccl.so.2, opened at run time.
#include <dlfcn.h>
#include <nccl.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "runtime/parallel/device_averager.h"

namespace fernn {

namespace {

struct Nccl {
    decltype(&ncclGetUniqueId) get_unique_id = nullptr;
    decltype(&ncclCommInitRank) init_rank = nullptr;
    decltype(&ncclAllReduce) all_reduce = nullptr;
    decltype(&ncclCommDestroy) destroy = nullptr;
    decltype(&ncclGetErrorString) error_string = nullptr;
    decltype(&ncclGetVersion) version = nullptr;
};

// libnccl.so.2 where FERNN_NCCL_LIBRARY says, on the loader's path, or in the CUDA toolkit.
Nccl load_nccl() {
    std::vector<std::string> candidates;
    if (const char *p = std::getenv("FERNN_NCCL_LIBRARY"); p && *p) candidates.push_back(p);
    candidates.insert(candidates.end(), {"libnccl.so.2", "/usr/local/cuda/lib64/libnccl.so.2"});
    void *h = nullptr;
    std::string errors;
    for (const auto &c : candidates) {
        if ((h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL))) break;
        const char *e = dlerror();
        errors += std::string(errors.empty() ? "" : "; ") + (e ? e : c);
    }
    if (!h) throw CommunicationError("NCCL is not available: " + errors);
    Nccl n;
    auto get = [&](auto &f, const char *name) {
        f = reinterpret_cast<std::remove_reference_t<decltype(f)>>(dlsym(h, name));
        if (!f) throw CommunicationError(std::string("NCCL lacks ") + name);
    };
    get(n.get_unique_id, "ncclGetUniqueId");
    get(n.init_rank, "ncclCommInitRank");
    get(n.all_reduce, "ncclAllReduce");
    get(n.destroy, "ncclCommDestroy");
    get(n.error_string, "ncclGetErrorString");
    get(n.version, "ncclGetVersion");
    return n;
}

class NcclAverager final : public DeviceAverager {
  public:
    explicit NcclAverager(Communicator &world) : rank_(world.rank()) {
        // Every rank must be able to start NCCL before any does: a rank missing from
        // ncclCommInitRank would leave the others waiting in it.
        std::string why;
        try {
            nccl_ = load_nccl();
            int v = 0;
            check(nccl_.version(&v), "ncclGetVersion");
            // ncclAvg came with NCCL 2.10 (version code 21000).
            if (v < 21000)
                throw CommunicationError("NCCL " + std::to_string(v) + " is older than 2.10");
            version_ = std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
                       std::to_string(v % 100);
        } catch (const CommunicationError &e) {
            why = e.what();
        }
        double ready = why.empty() ? 1 : 0;
        world.allreduce_sum(&ready, 1);
        if (!why.empty()) throw CommunicationError(why);
        if (ready < world.size()) {
            throw CommunicationError("NCCL did not load on " +
                                     std::to_string(world.size() - int(ready)) + " of " +
                                     std::to_string(world.size()) + " ranks");
        }
        ncclUniqueId id{};
        if (world.rank() == 0) check(nccl_.get_unique_id(&id), "ncclGetUniqueId");
        world.broadcast(&id, sizeof id, 0);
        check(nccl_.init_rank(&comm_, world.size(), id, world.rank()), "ncclCommInitRank");
    }
    ~NcclAverager() override {
        if (comm_) nccl_.destroy(comm_);
    }
    void average(void *data, size_t count, void *stream) override {
        check(nccl_.all_reduce(data, data, count, ncclFloat32, ncclAvg, comm_,
                               static_cast<cudaStream_t>(stream)),
              "ncclAllReduce");
    }
    std::string engine() const override { return "NCCL " + version_; }

  private:
    void check(ncclResult_t rc, const char *what) const {
        if (rc == ncclSuccess) return;
        throw CommunicationError(std::string(what) + " failed on rank " + std::to_string(rank_) +
                                 ": " + nccl_.error_string(rc));
    }
    Nccl nccl_;
    int rank_;
    ncclComm_t comm_ = nullptr;
    std::string version_;
};

}  // namespace

std::unique_ptr<DeviceAverager> nccl_averager(Communicator &world) {
    return std::make_unique<NcclAverager>(world);
}

}  // namespace fernn
