// Tuned schedule records: what `fernn tune` found for one model (model hash) on one target,
// with the measured times, stored as schedules/records/<name>-<model hash>-<target hash>.json
// (or under $FERNN_SCHEDULES). `fernn compile` and the compile cache use the matching record;
// a record tuned for another algorithm or schedule version is stale: it is reported and not
// used, because its stage names and knobs may no longer mean the same thing.
#pragma once

#include <string>

#include "runtime/spec/spec.h"

namespace fernn::sched {

// $FERNN_SCHEDULES, else the source tree's schedules/records.
std::string records_dir();

std::string record_path(const Spec &spec, const std::string &target, const std::string &dir);

struct RecordMatch {
    bool found = false;           // a record for this model and target exists
    bool stale = false;           // ... but for another algorithm or schedule version
    json knobs = json::object();  // by pipeline and stage; empty unless usable
    std::string path, hash;       // hash of the record's knobs (part of compile cache keys)
    std::string warning;          // set when stale
};

RecordMatch find_record(const Spec &spec, const std::string &target, const std::string &dir);

// Writes the record atomically (tuning rewrites it after every improvement).
void write_record(const std::string &path, const json &record);

}  // namespace fernn::sched
