#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <thread>

#include "runtime/parallel/communicator.h"

namespace fernn {

namespace {

// The first of `names` set to a count in 1..2^20, else 0.
int count_from(std::initializer_list<const char *> names) {
    for (const char *name : names) {
        const char *v = std::getenv(name);
        if (!v || !*v) continue;
        char *end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 1 << 20) return int(n);
    }
    return 0;
}

}  // namespace

int launched_world_size() {
    // OpenMPI's mpirun, PMI launchers (MPICH's hydra, srun --mpi=pmi2) and srun steps say how
    // many; SLURM_NTASKS is not asked: sbatch sets it for a whole job, also around a process
    // started without srun.
    if (const int n = count_from({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}))
        return n;
    const char *pmix = std::getenv("PMIX_RANK");
    return pmix && *pmix ? -1 : 0;
}

int launched_local_size() {
    if (launched_world_size() == 0) return 1;
    const int n =
        count_from({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"});
    return n > 0 ? n : 1;
}

int launched_local_rank() {
    if (launched_world_size() == 0) return 0;
    for (const char *name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}) {
        const char *v = std::getenv(name);
        if (!v || !*v) continue;
        char *end = nullptr;
        const long r = std::strtol(v, &end, 10);
        if (*end == '\0' && r >= 0 && r < 1 << 20) return int(r);
    }
    return 0;
}

int local_share_of_cores() {
    const int ranks = launched_local_size();
    if (ranks <= 1) return 0;
    return std::max(1, int(std::thread::hardware_concurrency()) / ranks);
}

}  // namespace fernn
