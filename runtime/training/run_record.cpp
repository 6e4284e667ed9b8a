#include "runtime/training/run_record.h"

#include <filesystem>

#include "runtime/formats/atomic_file.h"

namespace fernn {

void check_settings(const TrainSettings &t, const Spec &spec, const std::string &where) {
    const bool turning = spec.flow.data_motion() == DataMotion::Rotation;
    if (turning != !t.angular_velocities.empty()) {
        throw InputError(where + ": flow group \"" + spec.flow.group + "\" trains on " +
                         (turning ? "turning data: give data angular velocities"
                                  : "translating data: data angular velocities do not apply") +
                         " (--data-angular-velocities / training.data_angular_velocities are for "
                         "rotation flows, --data-velocity-range / training.data_velocity_range "
                         "for the others)");
    }
    const Limits<int64_t> range = data_velocity_limits(spec.input);
    if (t.velocity_range > range.hi) {
        throw InputError(where + ": data velocity range " + std::to_string(t.velocity_range) +
                         " does not fit " + std::to_string(spec.input.height) + "x" +
                         std::to_string(spec.input.width) + " frames; allowed: 0.." +
                         std::to_string(range.hi));
    }
}

RunRecord parse_run_record(const json &doc, const std::string &path) {
    const JsonSource source{path, {}};
    ObjectReader r(doc, "", source);
    r.integer("fernn_run", 1, 1);
    RunRecord run;
    run.spec = parse_spec(r.raw("spec"), JsonSource{path + " (spec)", {}});
    if (r.string("model_hash", 64) != run.spec.model_hash())
        source.fail("model_hash", "does not match the record's spec (edited or damaged)");
    run.settings = TrainSettings::from_json(r.raw("settings"), path);
    if (r.has("world_size")) run.world_size = r.integer("world_size", 1, 1 << 20);
    r.finish();
    check_settings(run.settings, run.spec, path);
    return run;
}

RunRecord read_run_record(const std::string &dir) {
    const std::string path = dir + "/run.json";
    if (!std::filesystem::exists(path))
        throw InputError(dir + ": not a training run (no run.json)");
    return parse_run_record(read_json_file(path), path);
}

RunRecord read_run_record(const std::string &dir, Communicator &world) {
    if (world.size() == 1) return read_run_record(dir);
    std::string text;
    if (world.rank() == 0) {
        read_run_record(dir);  // checked here: an error ends the job on rank 0
        text = read_file_bytes(dir + "/run.json");
    }
    uint64_t bytes = text.size();
    world.broadcast(&bytes, sizeof bytes, 0);
    text.resize(bytes);
    world.broadcast(text.data(), bytes, 0);
    const std::string path = dir + "/run.json";
    return parse_run_record(parse_json_strict(text, path), path);
}

void write_run_record(const std::string &dir, const RunRecord &run) {
    write_file_atomically(dir + "/run.json", json{{"fernn_run", 1},
                                                  {"spec", run.spec.normalized()},
                                                  {"model_hash", run.spec.model_hash()},
                                                  {"settings", run.settings.to_json()},
                                                  {"world_size", run.world_size}}
                                                     .dump(2) +
                                                 "\n");
}

}  // namespace fernn
