#include "tools/compiler/model_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "runtime/model/model_library.h"
#include "schedules/cpu_schedule.h"
#include "schedules/cuda_schedule.h"
#include "schedules/schedule_record.h"

namespace fernn {

namespace fs = std::filesystem;

namespace {

// An exclusive lock on a file next to a cache entry, held while the entry is checked and
// compiled: processes that need the same model at once (the ranks of a data-parallel run, two
// runs started together) compile it once; the others wait and then find it. Released when the
// process ends, also when it dies.
class EntryLock {
  public:
    explicit EntryLock(const std::string &path) {
        fs::create_directories(fs::path(path).parent_path());
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        // Without a lock (a file system without flock) the manifest-last write still holds.
        if (fd_ >= 0) ::flock(fd_, LOCK_EX);
    }
    ~EntryLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    EntryLock(const EntryLock &) = delete;
    EntryLock &operator=(const EntryLock &) = delete;

  private:
    int fd_ = -1;
};

}  // namespace

std::string default_cache_root() {
    if (const char *dir = std::getenv("FERNN_CACHE"); dir && *dir) return dir;
    if (const char *dir = std::getenv("XDG_CACHE_HOME"); dir && *dir)
        return std::string(dir) + "/fernn";
    if (const char *home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.cache/fernn";
    return ".fernn-cache";
}

std::string ensure_compiled(const Spec &spec, const std::string &target,
                            const std::string &precision, const std::string &cache_root,
                            std::ostream *log) {
    const std::string resolved = resolve_target(target);
    // A tuned schedule record changes the code: its knobs are part of the key.
    // One record per device target.
    std::string records;
    for (size_t start = 0; start < resolved.size();) {
        const size_t comma = std::min(resolved.find(',', start), resolved.size());
        records +=
            sched::find_record(spec, resolved.substr(start, comma - start), sched::records_dir())
                .hash +
            "|";
        start = comma + 1;
    }
    const std::string key =
        fnv1a_hex(spec.model_hash() + "|" + resolved + "|" + precision + "|" +
                  std::to_string(kAlgorithmVersion) + "|" + std::to_string(kLibraryVersion) + "|" +
                  std::to_string(sched::kCpuScheduleVersion) + "|" +
                  std::to_string(sched::kCudaScheduleVersion) + "|" + records);
    const std::string dir = cache_root + "/" + spec.name + "-" + key;
    // compile_model moves the manifest in last, so its presence means a complete entry.
    const EntryLock lock(dir + ".lock");
    if (!fs::exists(fs::path(dir) / (spec.name + ".manifest.json"))) {
        CompileOptions options;
        options.out_dir = dir;
        options.target = target;
        options.precision = precision;
        const CompileResult r = compile_model(spec, options);
        if (log) {
            for (const auto &w : r.warnings) *log << "fernn: warning: " << w << "\n";
            *log << "compiled " << spec.name << " for " << resolved << " (" << precision << ") in "
                 << r.seconds << " s, cached in " << dir << "\n";
        }
    }
    return dir;
}

}  // namespace fernn
