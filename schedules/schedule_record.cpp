#include "schedules/schedule_record.h"

#include <cstdlib>
#include <filesystem>

#include "generators/pipelines.h"
#include "runtime/formats/atomic_file.h"
#include "schedules/cpu_schedule.h"
#include "schedules/pipeline_schedule.h"

#ifndef FERNN_SOURCE_DIR
#define FERNN_SOURCE_DIR "."
#endif

namespace fernn::sched {

std::string records_dir() {
    if (const char *d = std::getenv("FERNN_SCHEDULES"); d && *d) return d;
    return std::string(FERNN_SOURCE_DIR) + "/schedules/records";
}

std::string record_path(const Spec &spec, const std::string &target, const std::string &dir) {
    return dir + "/" + spec.name + "-" + spec.model_hash() + "-" + fnv1a_hex(target).substr(0, 8) +
           ".json";
}

RecordMatch find_record(const Spec &spec, const std::string &target, const std::string &dir) {
    RecordMatch m;
    m.path = record_path(spec, target, dir);
    if (!std::filesystem::exists(m.path)) return m;
    const json r = read_json_file(m.path);
    m.found = true;
    const int algorithm = r.value("algorithm_version", 0),
              schedule = r.value("schedule_version", 0);
    const int current = schedule_version(Halide::Target(target));
    if (algorithm != kAlgorithmVersion || schedule != current) {
        m.stale = true;
        m.warning = m.path + " is stale: tuned for algorithm v" + std::to_string(algorithm) +
                    ", schedules v" + std::to_string(schedule) + " (now v" +
                    std::to_string(kAlgorithmVersion) + ", v" + std::to_string(current) +
                    "); using default schedules. Run fernn tune again.";
        return m;
    }
    if (!r.contains("pipelines") || !r["pipelines"].is_object()) {
        throw InputError(
            m.path + ": pipelines: missing or not an object; allowed: {pipeline: {stage: knobs}}");
    }
    m.knobs = r["pipelines"];
    m.hash = fnv1a_hex(m.knobs.dump());
    return m;
}

void write_record(const std::string &path, const json &record) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    write_file_atomically(path, record.dump(2) + "\n");
}

}  // namespace fernn::sched
