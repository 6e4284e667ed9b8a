// MPI's world (OpenMPI from Debian): initialized on first use with MPI_THREAD_FUNNELED (only the
// main thread calls MPI; Halide's workers never do), finalized at exit. Errors return instead of
// aborting (MPI_ERRORS_RETURN) and become CommunicationError naming the rank and the call.
// The C API only: OpenMPI's and MPICH's deprecated C++ bindings need a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>

#include "runtime/parallel/communicator.h"

namespace fernn {

namespace {

// Collectives take int counts: large buffers go in chunks of at most this many elements.
constexpr size_t kChunk = size_t(1) << 30;

struct MpiSession {
    MpiSession() {
        int provided = 0;
        if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            throw CommunicationError("MPI_Init_thread failed");
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
    ~MpiSession() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }
    int rank = 0, size = 1;
};

MpiSession &session() {
    // One per process, finalized after main returns.
    static MpiSession s;
    return s;
}

class MpiWorld final : public Communicator {
  public:
    MpiWorld() : s_(session()) {}
    int rank() const override { return s_.rank; }
    int size() const override { return s_.size; }
    std::string engine() const override { return "mpi"; }

    void allreduce_sum(float *data, size_t count) override { sum(data, count, MPI_FLOAT); }
    void allreduce_sum(double *data, size_t count) override { sum(data, count, MPI_DOUBLE); }

    void broadcast(void *data, size_t bytes, int root) override {
        auto *p = static_cast<char *>(data);
        for (size_t done = 0; done < bytes; done += kChunk) {
            const int n = int(std::min(kChunk, bytes - done));
            check(MPI_Bcast(p + done, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
        }
    }

    void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

  private:
    template <typename T>
    void sum(T *data, size_t count, MPI_Datatype type) {
        for (size_t done = 0; done < count; done += kChunk) {
            const int n = int(std::min(kChunk, count - done));
            check(MPI_Allreduce(MPI_IN_PLACE, data + done, n, type, MPI_SUM, MPI_COMM_WORLD),
                  "MPI_Allreduce");
        }
    }
    void check(int rc, const char *what) const {
        if (rc == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(rc, text, &length);
        throw CommunicationError("rank " + std::to_string(s_.rank) + " of " +
                                 std::to_string(s_.size) + ": " + what +
                                 " failed: " + std::string(text, size_t(length)));
    }
    MpiSession &s_;
};

}  // namespace

std::unique_ptr<Communicator> world_communicator() {
    // A process started without a launcher trains alone, without initializing MPI (which would
    // start OpenMPI's singleton machinery for nothing).
    if (launched_world_size() == 0) return single_process();
    return std::make_unique<MpiWorld>();
}

}  // namespace fernn
