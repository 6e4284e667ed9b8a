// Run by mpirun with 2 or more ranks (ctest `mpi_collectives`): the world communicator is MPI's,
// sums and broadcasts give every rank the same, exact results; exit 1 with the rank's message
// otherwise.
#include <cstdio>
#include <string>
#include <vector>

#include "runtime/parallel/communicator.h"

int main() {
    using namespace fernn;
    auto comm = world_communicator();
    const int r = comm->rank(), n = comm->size();
    auto fail = [&](const char *what) {
        std::fprintf(stderr, "rank %d of %d: %s\n", r, n, what);
        return 1;
    };
    if (comm->engine() != "mpi" || n < 2) return fail("not an MPI world of 2 or more ranks");
    // Integers in floats and doubles: the sums are exact in any order.
    std::vector<float> f(1000003);
    std::vector<double> d(777);
    for (size_t i = 0; i < f.size(); ++i) f[i] = float((r + 1) * (i % 97));
    for (size_t i = 0; i < d.size(); ++i) d[i] = double(r) * 1e6 + double(i);
    comm->allreduce_sum(f.data(), f.size());
    comm->allreduce_sum(d.data(), d.size());
    const double ranks = n * (n + 1) / 2.0, ranks0 = n * (n - 1) / 2.0;
    for (size_t i = 0; i < f.size(); ++i)
        if (f[i] != float(ranks * double(i % 97))) return fail("float allreduce");
    for (size_t i = 0; i < d.size(); ++i)
        if (d[i] != ranks0 * 1e6 + n * double(i)) return fail("double allreduce");
    char text[32] = {0};
    if (r == n - 1) std::snprintf(text, sizeof text, "from the last rank");
    comm->broadcast(text, sizeof text, n - 1);
    if (std::string(text) != "from the last rank") return fail("broadcast");
    comm->barrier();
    if (r == 0) std::printf("%d ranks: allreduce (float, double), broadcast, barrier agree\n", n);
    return 0;
}
