// `fernn compile`: spec -> Halide pipelines -> objects (one shared Halide runtime) -> one
// shared library lib<name>.so with a manifest <name>.manifest.json beside it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime/spec/spec.h"

namespace fernn {

struct CompileOptions {
    std::string out_dir;
    std::string target = "host";        // "host" or a Halide target string
    std::string precision = "float32";  // or "float64" (finite-difference checks)
    // Schedule knobs by pipeline and stage; when empty, those of the matching tuned record in
    // records_dir (schedules/schedule_record.h) if use_records, else the defaults.
    json knobs = json::object();
    std::string schedule_source = "schedules/cpu_schedule.cpp defaults";
    bool use_records = true;
    std::string records_dir;  // empty: sched::records_dir()
    // "direct", "winograd2" or "winograd4": the default knobs with every 3×3 stage that can run
    // in it switched to it, in place of knobs or records; empty: as they say.
    std::string algorithm;
};

struct CompileResult {
    std::string library, manifest;
    double seconds = 0;  // wall time, pipelines compiled in parallel
    std::vector<std::pair<std::string, double>> pipeline_seconds;
    std::vector<std::string> warnings;  // e.g. a stale schedule record
    std::string schedule_source;        // the record used, or the defaults
};

// Writes into a staging directory and moves the finished files into out_dir, so a failure
// leaves whatever out_dir held before untouched. Throws InputError on a bad target/precision.
CompileResult compile_model(const Spec &spec, const CompileOptions &options);

// "x86-64-linux-avx2-..." for "host", validated otherwise.
std::string resolve_target(const std::string &target);

}  // namespace fernn
