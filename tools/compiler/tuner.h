// fernn tune: searches the schedule knobs of every pipeline by timing real runs, tries Halide's
// autoschedulers, and writes the winners with their measured times to a schedule record.
//
// Each measurement runs in a forked child (fresh Halide state; a crash or hang costs one
// candidate, not the search): build the pipeline, schedule it, JIT-compile it, run it on
// random data of the spec's shapes (batch `batch`) and report the median time. The search is
// coordinate descent: for each stage, one knob changed at a time, kept when >= 3% faster.
// The record is rewritten after every improvement, so an interrupted search loses nothing.
#pragma once

#include <csignal>
#include <functional>
#include <string>

#include "runtime/spec/spec.h"

namespace fernn::sched {

struct TuneOptions {
    int batch = 16;
    int threads = 0;  // 0: all cores
    double budget_seconds = 600;
    bool autoschedulers = true;
    double autoscheduler_timeout = 180;  // seconds for one autoscheduler run (Adams2019 is slow)
    std::string record_path;
    std::function<void(const std::string &)> log;
    volatile std::sig_atomic_t *stop = nullptr;  // set by a signal handler: finish early
};

// Runs the search; returns the record (also written to options.record_path).
json tune(const Spec &spec, const std::string &target, const TuneOptions &options);

// Median wall time (ms) of `pipeline` scheduled by `knobs`, JIT-compiled, on random data.
// Runs in the calling process.
double time_pipeline(const Spec &spec, const std::string &pipeline, const json &knobs, int batch,
                     const std::string &target);

}  // namespace fernn::sched
