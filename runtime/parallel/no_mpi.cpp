// Builds without MPI: every process trains alone. Under a launcher that started several, that is
// refused rather than running N independent copies that would write the same run directory.
#include <cstdio>

#include "runtime/parallel/communicator.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

std::unique_ptr<Communicator> world_communicator() {
    const int n = launched_world_size();
    if (n > 1 || n < 0) {
        throw InputError(
            "started by a launcher as one of several processes, but this fernn was built "
            "without MPI; install libopenmpi-dev (tools/setup.sh does) and rebuild, or run "
            "fernn without mpirun/srun");
    }
    return single_process();
}

void report_failure(const std::string &message, int) {
    std::fprintf(stderr, "fernn: %s\n", message.c_str());
}

}  // namespace fernn
