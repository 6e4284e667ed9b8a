// Which world a process trains in, from what its launcher set: alone without one (also inside
// an sbatch job, which sets SLURM_NTASKS for the whole job), the launcher's size otherwise.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "runtime/parallel/communicator.h"
#include "runtime/parallel/device_averager.h"
#include "runtime/spec/json_reader.h"

using namespace fernn;

namespace {

const char *kNames[] = {"OMPI_COMM_WORLD_SIZE",
                        "PMI_SIZE",
                        "SLURM_STEP_NUM_TASKS",
                        "PMIX_RANK",
                        "SLURM_NTASKS",
                        "OMPI_COMM_WORLD_LOCAL_SIZE",
                        "OMPI_COMM_WORLD_LOCAL_RANK",
                        "SLURM_LOCALID"};

struct CleanEnvironment {
    CleanEnvironment() {
        for (const char *n : kNames) unsetenv(n);
    }
    ~CleanEnvironment() {
        for (const char *n : kNames) unsetenv(n);
    }
};

}  // namespace

TEST(Parallel, AProcessWithoutALauncherTrainsAlone) {
    CleanEnvironment clean;
    EXPECT_EQ(launched_world_size(), 0);
    setenv("SLURM_NTASKS", "8", 1);  // a job's size, not this process's world
    EXPECT_EQ(launched_world_size(), 0);
    auto comm = world_communicator();
    EXPECT_EQ(comm->engine(), "single");
    EXPECT_EQ(comm->rank(), 0);
    EXPECT_EQ(comm->size(), 1);
    float values[3] = {1, 2, 3};
    comm->allreduce_sum(values, 3);
    EXPECT_EQ(values[2], 3.0f);
    EXPECT_THROW(comm->broadcast(values, sizeof values, 1), std::logic_error);
}

TEST(Parallel, LaunchersSayHowManyProcessesTheyStarted) {
    CleanEnvironment clean;
    setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
    EXPECT_EQ(launched_world_size(), 4);
    unsetenv("OMPI_COMM_WORLD_SIZE");
    setenv("SLURM_STEP_NUM_TASKS", "16", 1);
    EXPECT_EQ(launched_world_size(), 16);
    unsetenv("SLURM_STEP_NUM_TASKS");
    setenv("PMI_SIZE", "not a number", 1);
    EXPECT_EQ(launched_world_size(), 0);
    setenv("PMIX_RANK", "0", 1);  // PMIx says the rank only
    EXPECT_EQ(launched_world_size(), -1);
}

TEST(Parallel, RanksOnOneMachineShareItsCores) {
    CleanEnvironment clean;
    EXPECT_EQ(launched_local_size(), 1);
    EXPECT_EQ(launched_local_rank(), 0);
    EXPECT_EQ(local_share_of_cores(), 0);  // alone: all cores
    setenv("OMPI_COMM_WORLD_SIZE", "8", 1);
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "4", 1);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "3", 1);
    EXPECT_EQ(launched_local_size(), 4);
    EXPECT_EQ(launched_local_rank(), 3);
    EXPECT_EQ(local_share_of_cores(), std::max(1, int(std::thread::hardware_concurrency()) / 4));
    unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
    setenv("SLURM_LOCALID", "2", 1);
    EXPECT_EQ(launched_local_rank(), 2);
}

TEST(Parallel, AnMpiPluginThatDoesNotLoadIsNamed) {
    CleanEnvironment clean;
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    const std::string damaged = ::testing::TempDir() + "/libfernn_mpi_damaged.so";
    std::ofstream(damaged) << "not a shared library";
    setenv("FERNN_MPI_PLUGIN", damaged.c_str(), 1);
    try {
        world_communicator();
        ADD_FAILURE() << "a launcher's world without a loadable MPI plugin was accepted";
    } catch (const InputError &e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("started by a launcher as one of several processes, but " + damaged +
                            " does not load"),
                  std::string::npos)
            << what;
    }
    unsetenv("FERNN_MPI_PLUGIN");
}

// NCCL (the CUDA toolkit's, opened at run time) without a GPU: a clear error, never a crash or a
// hang. On a GPU machine tools/gpu_check.sh runs the NCCL path itself.
TEST(Parallel, NcclWithoutAGpuFailsWithItsReason) {
    auto alone = single_process();
    try {
        auto nccl = nccl_averager(*alone);
        GTEST_SKIP() << "NCCL started (" << nccl->engine() << "): this machine has a GPU";
    } catch (const CommunicationError &e) {
        const std::string what = e.what();
        EXPECT_TRUE(what.find("NCCL") != std::string::npos ||
                    what.find("nccl") != std::string::npos)
            << what;
        std::printf("without a GPU: %s\n", e.what());
    }
}
