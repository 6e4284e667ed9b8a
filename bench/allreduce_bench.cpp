// The gradient allreduce of data-parallel training, alone: MPI_Allreduce (sum, in place) of
// `count` floats over the ranks mpirun started, timed after warm-up. Prints one JSON line (rank
// 0): ranks, count, median milliseconds, and the bus bandwidth 2 (n-1)/n · bytes / time that a
// ring allreduce moves per rank, the figure that carries over to other interconnects.
//   mpirun --allow-run-as-root -np 2 build/allreduce_bench 739584 [repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "runtime/parallel/communicator.h"

int main(int argc, char **argv) {
    using namespace fernn;
    if (argc < 2) {
        std::fprintf(stderr, "usage: allreduce_bench COUNT [REPEATS]\n");
        return 2;
    }
    const size_t count = std::strtoull(argv[1], nullptr, 10);
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 50;
    auto comm = world_communicator();
    std::vector<float> data(count, 1.0f);
    std::vector<double> ms;
    for (int i = 0; i < repeats + 5; ++i) {
        comm->barrier();
        const auto t0 = std::chrono::steady_clock::now();
        comm->allreduce_sum(data.data(), data.size());
        const auto t1 = std::chrono::steady_clock::now();
        if (i >= 5) ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2], n = comm->size();
    const double bus_gbs = 2 * (n - 1) / n * double(count) * 4 / (median * 1e-3) / 1e9;
    if (comm->rank() == 0) {
        std::printf(
            "{\"engine\": \"%s\", \"ranks\": %d, \"count\": %zu, \"median_ms\": %.4f, "
            "\"bus_gb_per_s\": %.3f}\n",
            comm->engine().c_str(), comm->size(), count, median, bus_gbs);
    }
    return 0;
}
