#include <cstdlib>
#include <cstring>

#include "runtime/parallel/communicator.h"

namespace fernn {

int launched_world_size() {
    // OpenMPI's mpirun, PMI launchers (MPICH's hydra, srun --mpi=pmi2) and srun steps say how
    // many; SLURM_NTASKS is not asked: sbatch sets it for a whole job, also around a process
    // started without srun.
    for (const char *name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
        const char *v = std::getenv(name);
        if (!v || !*v) continue;
        char *end = nullptr;
        const long n = std::strtol(v, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 1 << 20) return int(n);
    }
    const char *pmix = std::getenv("PMIX_RANK");
    return pmix && *pmix ? -1 : 0;
}

}  // namespace fernn
