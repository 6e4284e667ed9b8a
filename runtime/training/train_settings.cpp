#include "runtime/training/train_settings.h"

#include "runtime/spec/angular_velocities.h"
#include "runtime/spec/limits.h"

namespace fernn {

json TrainSettings::to_json() const {
    json j{{"data", data},
           {"steps", steps},
           {"batch", batch},
           {"lr", lr},
           {"clip_grad_norm", clip_grad_norm},
           {"seed", seed},
           {"val_every", val_every},
           {"val_sequences", val_sequences}};
    if (angular_velocities.empty()) {
        j["data_velocity_range"] = velocity_range;
    } else {
        j["data_angular_velocities"] = angular_velocities;
    }
    return j;
}

TrainSettings TrainSettings::from_json(const json &j, const std::string &file) {
    // As strict as a spec: a hand-edited run.json with batch 0 or a negative rate is refused
    // with the field named, never trained on.
    const JsonSource source{file, {}};
    ObjectReader r(j, "settings", source);
    TrainSettings t;
    t.data = r.string("data", 4096);
    t.steps = r.integer64("steps", limits::steps);
    t.batch = int(r.integer64("batch", limits::batch));
    t.lr = r.number("lr", limits::lr);
    t.clip_grad_norm = r.number("clip_grad_norm", limits::clip_grad_norm);
    t.seed = r.unsigned64("seed");
    // Exactly one of the data's motions (check_settings matches it to the spec's flow group).
    if (r.has("data_angular_velocities")) {
        if (r.has("data_velocity_range")) {
            source.fail("settings.data_velocity_range",
                        "given beside settings.data_angular_velocities; allowed: one of them");
        }
        t.angular_velocities = read_angular_velocities(r.raw("data_angular_velocities"),
                                                       "settings.data_angular_velocities", source);
    } else {
        t.velocity_range = int(r.integer64("data_velocity_range", limits::data_velocity_range));
    }
    t.val_every = r.integer64("val_every", limits::val_every);
    t.val_sequences = int(r.integer64("val_sequences", limits::val_sequences));
    r.finish();
    return t;
}

}  // namespace fernn
