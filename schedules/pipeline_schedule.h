// Scheduling one pipeline as a record says: either per-stage knobs for the hand-written
// schedules (cpu_schedule.h) or {"autoscheduler": NAME, "batch": B}: one of Halide 14's
// autoscheduler plugins (Adams2019, Li2018, Mullapudi2016), given estimates for batch B.
// Autoscheduler results cannot be saved in Halide 14 except Adams2019's as C++ source, so a
// record names the autoscheduler and compiling runs it again (deterministic for a target).
#pragma once

#include <nlohmann/json.hpp>

#include "generators/pipelines.h"

namespace fernn::sched {

extern const std::vector<std::string> kAutoschedulers;

// The device-specific parts of scheduling, chosen by the target (CUDA or CPU).
bool is_cuda(const Halide::Target &target);
int schedule_version(const Halide::Target &target);
// The autoschedulers that can schedule for the target (Halide 14: Adams2019 is CPU only).
std::vector<std::string> autoschedulers_for(const Halide::Target &target);
nlohmann::json default_knobs_for(const gen::PipelineDef &def, int width,
                                 const Halide::Target &target);
std::vector<nlohmann::json> knob_neighbors_for(const gen::PipelineDef &def,
                                               const std::string &stage,
                                               const nlohmann::json &current, int width,
                                               const Halide::Target &target);

// The default knobs with every stage that can run in `algorithm` switched to it (and its
// default knobs there): `fernn compile --algorithm`, for a target nobody tuned (a GPU that
// `fernn tune` could not reach). def is built direct; build again with algorithms_of(knobs).
nlohmann::json default_knobs_with_algorithm(const gen::PipelineDef &def, int width,
                                            const Halide::Target &target,
                                            gen::ConvAlgorithm algorithm);

// Schedules def and returns the Pipeline to compile; `used` receives the knobs applied.
Halide::Pipeline schedule_pipeline(gen::PipelineDef &def, const ModelPlan &plan,
                                   const Halide::Target &target, const nlohmann::json &knobs,
                                   nlohmann::json &used);

}  // namespace fernn::sched
