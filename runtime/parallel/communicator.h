// Processes that train one model together (data parallelism): which rank this process is, how
// many there are, and the collectives the trainer needs. One implementation per engine, chosen
// at start: a single process (no launcher, or a build without MPI), or MPI (OpenMPI, when fernn
// is built with it and started by mpirun or srun). Collectives fail with an exception naming the
// rank, never silently, and never wait forever: a collective that the other ranks do not join
// within the timeout (a rank hangs, a node went away) fails too, naming the missing ranks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace fernn {

// A collective that failed (a rank died, the network went away, the timeout passed): what, and
// on which rank.
struct CommunicationError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Communicator {
  public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual std::string engine() const = 0;  // "single" or "mpi"

    // Sums `count` values over all ranks, in place; every rank gets the same result.
    virtual void allreduce_sum(float *data, size_t count) = 0;
    virtual void allreduce_sum(double *data, size_t count) = 0;
    // Rank `root`'s `bytes` bytes, to every rank.
    virtual void broadcast(void *data, size_t bytes, int root) = 0;
    // Returns when every rank has called it.
    virtual void barrier() = 0;

    // How long a collective waits for the other ranks before it fails (seconds, > 0).
    void set_timeout(double seconds) { timeout_ = seconds; }
    double timeout() const { return timeout_; }

  private:
    double timeout_ = 600;
};

// This process alone: rank 0 of 1, collectives leave the data as it is.
std::unique_ptr<Communicator> single_process();

// The processes this one was started with: MPI's world when fernn was built with MPI and a
// launcher (mpirun, srun) started it, else single_process(). MPI is initialized on the first
// call and finalized at exit.
std::unique_ptr<Communicator> world_communicator();

// How many processes a launcher started together, from the environment it sets (OpenMPI's
// mpirun, PMI launchers, srun steps): 0 when none did, -1 when one did (PMIx) without saying
// how many.
int launched_world_size();

// How many of them run on this machine (they share its cores and memory): 1 without a launcher
// or when it does not say.
int launched_local_size();

// This process's place among them on this machine (0 without a launcher or when it does not
// say).
int launched_local_rank();

// Worker threads for one rank by default: 0 (all cores) alone, else this machine's cores divided
// among its ranks (at least 1), so that ranks sharing a machine do not oversubscribe it.
int local_share_of_cores();

// Prints an error that ends the command ("fernn: " + `message` on stderr) and, on one rank of a
// job of several, ends every rank (MPI_Abort with `code`), so that no rank waits for this one
// until its timeout and none finalizes MPI while the others are inside a collective. Returns
// when this process runs alone. Messages name the rank; ranks other than 0 first give rank 0 a
// moment: when every rank fails alike (a bad spec), only rank 0's message is printed.
void report_failure(const std::string &message, int code);

}  // namespace fernn
