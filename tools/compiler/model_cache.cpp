#include "tools/compiler/model_cache.h"

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "runtime/model/model_library.h"
#include "schedules/cpu_schedule.h"
#include "schedules/cuda_schedule.h"
#include "schedules/schedule_record.h"

namespace fernn {

namespace fs = std::filesystem;

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
