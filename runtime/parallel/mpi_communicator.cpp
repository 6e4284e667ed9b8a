// MPI's world (OpenMPI from Debian), built as the plugin libfernn_mpi.so that fernn loads only
// when a launcher started it (runtime/parallel/world.cpp): fernn, fernn-run and the C API then
// start on machines without OpenMPI. Initialized on first use with MPI_THREAD_FUNNELED (only the
// main thread calls MPI; Halide's workers never do), finalized at exit. Errors return instead of
// aborting (MPI_ERRORS_RETURN) and become CommunicationError naming the rank and the call.
//
// Collectives are non-blocking calls completed by polling against a deadline, because a blocking
// MPI_Allreduce waits forever for a rank that hangs or whose node vanished without the launcher
// noticing. To name the ranks that are missing, every rank tells rank 0 the number of the
// collective it enters (one small message per collective) and, while it waits inside one, that it
// still does (a heartbeat every half second); rank 0's timeout names the ranks that never
// arrived and those that arrived but fell silent (stopped, or their node vanished).
// The C API only: OpenMPI's and MPICH's deprecated C++ bindings need a library we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/parallel/communicator.h"

namespace fernn {

namespace {

// Collectives take int counts: large buffers go in chunks of at most this many elements.
constexpr size_t kChunk = size_t(1) << 30;
constexpr int kArrivalTag = 7001;
// Sums up to this many bytes (losses, counts) go as one non-blocking allreduce.
constexpr size_t kSmallSum = 64 * 1024;
using Clock = std::chrono::steady_clock;
constexpr auto kHeartbeat = std::chrono::milliseconds(500);

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
    // One per process, finalized when the process exits.
    static MpiSession s;
    return s;
}

// Ends the process when a blocking collective it is armed for outlasts its deadline: a thread
// that sleeps until then (MPI is never called from it).
class Watchdog {
  public:
    explicit Watchdog(int rank, int size)
        : rank_(rank), size_(size), thread_([this] { watch(); }) {}
    ~Watchdog() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    void arm(double seconds, long long call) {
        std::lock_guard<std::mutex> lock(mutex_);
        armed_ = true;
        call_ = call;
        seconds_ = seconds;
        deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(seconds));
        wake_.notify_all();
    }
    void disarm() {
        std::lock_guard<std::mutex> lock(mutex_);
        armed_ = false;
    }

  private:
    void watch() {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!stop_) {
            if (!armed_) {
                wake_.wait(lock);
                continue;
            }
            if (wake_.wait_until(lock, deadline_) == std::cv_status::timeout && armed_ &&
                Clock::now() >= deadline_) {
                std::fprintf(stderr,
                             "fernn: rank %d of %d: MPI_Allreduce (collective %lld) did not "
                             "complete within %g s although every rank had arrived (one stopped "
                             "or its node vanished inside it); ending this rank\n",
                             rank_, size_, call_, seconds_);
                std::fflush(stderr);
                std::_Exit(1);  // the launcher then ends the other ranks
            }
        }
    }
    int rank_, size_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool armed_ = false, stop_ = false;
    long long call_ = 0;
    double seconds_ = 0;
    Clock::time_point deadline_;
    std::thread thread_;
};

class MpiWorld final : public Communicator {
  public:
    MpiWorld()
        : s_(session()),
          arrived_(size_t(s_.size), 0),
          heard_(size_t(s_.size), Clock::now()),
          receives_(size_t(s_.size)),
          watchdog_(s_.rank, s_.size) {
        if (s_.rank == 0) {
            for (int r = 1; r < s_.size; ++r) post_receive(r);
        }
    }
    ~MpiWorld() override {
        for (auto &request : receives_) {
            if (request == MPI_REQUEST_NULL) continue;
            MPI_Cancel(&request);
            MPI_Request_free(&request);
        }
        if (send_ != MPI_REQUEST_NULL) MPI_Wait(&send_, MPI_STATUS_IGNORE);
    }
    int rank() const override { return s_.rank; }
    int size() const override { return s_.size; }
    std::string engine() const override { return "mpi"; }

    void allreduce_sum(float *data, size_t count) override { sum(data, count, MPI_FLOAT); }
    void allreduce_sum(double *data, size_t count) override { sum(data, count, MPI_DOUBLE); }

    void broadcast(void *data, size_t bytes, int root) override {
        auto *p = static_cast<char *>(data);
        for (size_t done = 0; done < bytes; done += kChunk) {
            const int n = int(std::min(kChunk, bytes - done));
            const long long call = arrive();
            MPI_Request request;
            check(MPI_Ibcast(p + done, n, MPI_BYTE, root, MPI_COMM_WORLD, &request), "MPI_Ibcast");
            complete(request, "MPI_Ibcast", call);
        }
    }

    void barrier() override { meet("MPI_Ibarrier"); }

  private:
    // Small sums go as one non-blocking allreduce. Large ones (gradients) first meet in a
    // non-blocking barrier, where the timeout and the naming of missing ranks apply, then use
    // the blocking MPI_Allreduce: OpenMPI's tuned algorithms for it are twice as fast as its
    // non-blocking one at the gradient's size (bench/RESULTS.md). Once every rank has arrived
    // it completes in milliseconds; a watchdog ends this rank should it not (a rank stopped in
    // that window), so the job still never hangs.
    template <typename T>
    void sum(T *data, size_t count, MPI_Datatype type) {
        for (size_t done = 0; done < count; done += kChunk) {
            const int n = int(std::min(kChunk, count - done));
            const long long call = arrive();
            MPI_Request request;
            if (size_t(n) * sizeof(T) <= kSmallSum) {
                check(MPI_Iallreduce(MPI_IN_PLACE, data + done, n, type, MPI_SUM, MPI_COMM_WORLD,
                                     &request),
                      "MPI_Iallreduce");
                complete(request, "MPI_Iallreduce", call);
                continue;
            }
            meet("MPI_Allreduce", call);
            watchdog_.arm(timeout(), call);
            const int rc =
                MPI_Allreduce(MPI_IN_PLACE, data + done, n, type, MPI_SUM, MPI_COMM_WORLD);
            watchdog_.disarm();
            check(rc, "MPI_Allreduce");
        }
    }

    // A barrier within the timeout, reported as part of `what` (collective `call`).
    void meet(const char *what, long long call) {
        MPI_Request request;
        check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
        complete(request, what, call);
    }
    void meet(const char *what) { meet(what, arrive()); }

    // Numbers the collective this rank enters and tells rank 0 (which counts its own).
    long long arrive() {
        const long long call = ++calls_;
        if (s_.rank == 0) {
            arrived_[0] = call;
        } else {
            tell_leader(call);
        }
        return call;
    }

    // "Rank r is in collective `call`": on entering it, and as a heartbeat while waiting in it.
    void tell_leader(long long call) {
        if (send_ != MPI_REQUEST_NULL) check(MPI_Wait(&send_, MPI_STATUS_IGNORE), "MPI_Wait");
        sent_ = call;
        check(MPI_Isend(&sent_, 1, MPI_LONG_LONG, 0, kArrivalTag, MPI_COMM_WORLD, &send_),
              "MPI_Isend");
        last_told_ = Clock::now();
    }

    void post_receive(int r) {
        check(MPI_Irecv(&arrived_[size_t(r)], 1, MPI_LONG_LONG, r, kArrivalTag, MPI_COMM_WORLD,
                        &receives_[size_t(r)]),
              "MPI_Irecv");
    }

    // Rank 0: takes in every arrival message received so far (the newest one per rank counts).
    void collect_arrivals() {
        for (int r = 1; r < s_.size; ++r) {
            int done = 1;
            while (done) {
                check(MPI_Test(&receives_[size_t(r)], &done, MPI_STATUS_IGNORE), "MPI_Test");
                if (!done) break;
                heard_[size_t(r)] = Clock::now();
                post_receive(r);
            }
        }
    }

    // Polls `request` until it completes or the timeout passes: spinning first (a collective
    // usually completes within a millisecond), then sleeping between polls so that a rank
    // waiting for a slower one leaves its core to the others.
    void complete(MPI_Request &request, const char *what, long long call) {
        const auto start = Clock::now();
        const auto deadline = start + std::chrono::duration<double>(timeout());
        for (int polls = 0;; ++polls) {
            int done = 0;
            check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
            if (done) break;
            const auto now = Clock::now();
            if (s_.rank == 0 && polls % 64 == 0) collect_arrivals();
            if (s_.rank != 0 && now - last_told_ > kHeartbeat) tell_leader(call);
            if (now > deadline) timed_out(what, call);
            if (now - start > std::chrono::milliseconds(10))
                std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (s_.rank == 0) collect_arrivals();
    }

    [[noreturn]] void timed_out(const char *what, long long call) {
        std::string missing;
        int listed = 0;
        if (s_.rank == 0) {
            collect_arrivals();
            // Missing: never arrived, or arrived and silent for several heartbeats since.
            const auto silent = std::max<Clock::duration>(
                4 * kHeartbeat, std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(timeout() / 2)));
            for (int r = 1; r < s_.size; ++r) {
                if (arrived_[size_t(r)] > call ||
                    (arrived_[size_t(r)] == call && Clock::now() - heard_[size_t(r)] < silent))
                    continue;
                if (listed < 16) missing += (listed ? ", " : "") + std::to_string(r);
                ++listed;
            }
            if (listed > 16) missing += " and " + std::to_string(listed - 16) + " more";
        }
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", timeout());
        // report_failure() says which rank this is.
        std::string text = std::string(what) + " (collective " + std::to_string(call) +
                           ") waited " + seconds + " s for the other ranks";
        if (listed > 0) {
            text += (listed == 1 ? "; rank " : "; ranks ") + missing +
                    " did not arrive or stopped answering (hung, or its node is gone)";
        } else if (s_.rank != 0) {
            text += "; rank 0 names the ranks that did not arrive";
        }
        throw CommunicationError(text);
    }

    void check(int rc, const char *what) const {
        if (rc == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(rc, text, &length);
        throw CommunicationError(std::string(what) + " failed on rank " + std::to_string(s_.rank) +
                                 ": " + std::string(text, size_t(length)));
    }

    MpiSession &s_;
    long long calls_ = 0, sent_ = 0;
    std::vector<long long> arrived_;        // rank 0: the newest collective each rank entered
    std::vector<Clock::time_point> heard_;  // rank 0: when each rank last said so
    Clock::time_point last_told_ = Clock::now();
    std::vector<MPI_Request> receives_;
    MPI_Request send_ = MPI_REQUEST_NULL;
    Watchdog watchdog_;
};

}  // namespace

}  // namespace fernn

// The plugin's entry points (runtime/parallel/world.cpp looks them up by name).
extern "C" {

// A new communicator over MPI_COMM_WORLD, owned by the caller; MPI is initialized on the first.
__attribute__((visibility("default"))) fernn::Communicator *fernn_mpi_world() {
    return new fernn::MpiWorld();
}

// Ends every rank of the job with `code`.
__attribute__((visibility("default"))) void fernn_mpi_abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
}

}  // extern "C"
