// Which world this process trains in. Alone without a launcher; under one (mpirun, srun), MPI's
// world from the plugin libfernn_mpi.so, loaded here at run time: nothing of fernn links
// OpenMPI, so fernn, fernn-run and the C API start where it is not installed, and only a process
// that a launcher started needs it.
#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "runtime/parallel/communicator.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

constexpr const char *kPlugin = "libfernn_mpi.so";

// The job this process belongs to, once world_communicator() joined it.
struct Job {
    int rank = 0, size = 1;
    void (*abort)(int) = nullptr;
} job;

// The plugin where FERNN_MPI_PLUGIN says, else next to the program or library holding this code
// (build/fernn, build/libfernn.so), else where the build put it; nullptr with the reason in
// `why`.
void *load_plugin(std::string &why) {
    std::vector<std::string> candidates;
    if (const char *p = std::getenv("FERNN_MPI_PLUGIN"); p && *p) candidates.push_back(p);
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&world_communicator), &info) && info.dli_fname) {
        std::error_code ec;
        const auto self = std::filesystem::canonical("/proc/self/exe", ec);
        // The main program's dli_fname is argv[0]-like: ask /proc for its real place.
        const std::filesystem::path holder =
            std::filesystem::path(info.dli_fname).filename() == self.filename() && !ec
                ? self
                : std::filesystem::path(info.dli_fname);
        candidates.push_back((holder.parent_path() / kPlugin).string());
    }
#ifdef FERNN_MPI_PLUGIN_BUILT
    candidates.push_back(FERNN_MPI_PLUGIN_BUILT);
#endif
    for (const auto &path : candidates) {
        if (void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return h;
        const char *e = dlerror();
        if (std::filesystem::exists(path)) {
            why = path + " does not load: " + (e ? e : "unknown error");
            return nullptr;
        }
    }
    why = "this fernn was built without MPI (no " +
          (candidates.empty() ? std::string(kPlugin) : candidates.back()) +
          "); install libopenmpi-dev (tools/setup.sh does) and rebuild";
    return nullptr;
}

}  // namespace

std::unique_ptr<Communicator> world_communicator() {
    // A process started without a launcher trains alone, without MPI (whose singleton start
    // would cost time for nothing).
    if (launched_world_size() == 0) return single_process();
    std::string why;
    void *plugin = load_plugin(why);
    auto create =
        plugin ? reinterpret_cast<Communicator *(*)()>(dlsym(plugin, "fernn_mpi_world")) : nullptr;
    auto abort =
        plugin ? reinterpret_cast<void (*)(int)>(dlsym(plugin, "fernn_mpi_abort")) : nullptr;
    if (!create || !abort) {
        // Refused rather than running N independent copies that would write one run directory.
        throw InputError("started by a launcher as one of several processes, but " +
                         (why.empty() ? std::string(kPlugin) + " lacks its entry points" : why) +
                         "; or run fernn without mpirun/srun");
    }
    std::unique_ptr<Communicator> world(create());
    job = {world->rank(), world->size(), abort};
    return world;
}

void report_failure(const std::string &message, int code) {
    const bool several = job.abort && job.size > 1;
    if (several && job.rank != 0) std::this_thread::sleep_for(std::chrono::seconds(1));
    const std::string prefix =
        several ? "rank " + std::to_string(job.rank) + " of " + std::to_string(job.size) + ": "
                : "";
    std::fprintf(stderr, "fernn: %s%s\n", prefix.c_str(), message.c_str());
    if (!several) return;
    std::fflush(stdout);
    std::fflush(stderr);
    job.abort(code);
}

}  // namespace fernn
