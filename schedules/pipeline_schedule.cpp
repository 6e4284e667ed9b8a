#include "schedules/pipeline_schedule.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "schedules/cpu_schedule.h"
#include "schedules/cuda_schedule.h"
#include "schedules/schedule_util.h"

namespace fernn::sched {

const std::vector<std::string> kAutoschedulers{"Mullapudi2016", "Li2018", "Adams2019"};

namespace {

// Region estimates of one argument: its extents at batch `batch`; flat buffers as long as
// `flat_length` (the parameter count).
Halide::Region region_of(const Argument &a, const Geometry &g, int batch, int64_t flat_length) {
    Halide::Region r;
    for (int e : halide_extents(a.type, g, batch, flat_length)) r.push_back(Halide::Range(0, e));
    return r;
}

void load_plugin_once(const std::string &name) {
    static std::mutex mutex;
    static std::vector<std::string> loaded;
    std::lock_guard<std::mutex> lock(mutex);
    if (std::find(loaded.begin(), loaded.end(), name) != loaded.end()) return;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    Halide::load_plugin("/usr/lib/x86_64-linux-gnu/halide14/libautoschedule_" + lower + ".so");
    loaded.push_back(name);
}

}  // namespace

bool is_cuda(const Halide::Target &target) {
    return target.has_feature(Halide::Target::CUDA);
}

int schedule_version(const Halide::Target &target) {
    return is_cuda(target) ? kCudaScheduleVersion : kCpuScheduleVersion;
}

std::vector<std::string> autoschedulers_for(const Halide::Target &target) {
    if (!is_cuda(target)) return kAutoschedulers;
    return {"Mullapudi2016", "Li2018"};
}

nlohmann::json default_knobs_for(const gen::PipelineDef &def, int width,
                                 const Halide::Target &target) {
    return is_cuda(target) ? default_cuda_knobs(def, width) : default_knobs(def, width, target);
}

std::vector<nlohmann::json> knob_neighbors_for(const gen::PipelineDef &def,
                                               const std::string &stage,
                                               const nlohmann::json &current, int width,
                                               const Halide::Target &target) {
    return is_cuda(target) ? cuda_knob_neighbors(def, stage, current, width)
                           : knob_neighbors(def, stage, current, width);
}

nlohmann::json default_knobs_with_algorithm(const gen::PipelineDef &def, int width,
                                            const Halide::Target &target,
                                            gen::ConvAlgorithm algorithm) {
    nlohmann::json knobs = default_knobs_for(def, width, target);
    for (auto &stage : knobs.items()) {
        if (algorithm_knob(stage.key(), stage.value()) == algorithm) continue;
        // The neighbours that switch algorithm keep the stage's register block where it fits.
        for (const auto &n : knob_neighbors_for(def, stage.key(), stage.value(), width, target)) {
            if (algorithm_knob(stage.key(), n) == algorithm) {
                stage.value() = n;
                break;
            }
        }
    }
    return knobs;
}

Halide::Pipeline schedule_pipeline(gen::PipelineDef &def, const ModelPlan &plan,
                                   const Halide::Target &target, const nlohmann::json &knobs,
                                   nlohmann::json &used) {
    const int width = def.geometry.width;
    if (!knobs.contains("autoscheduler")) {
        used = is_cuda(target) ? schedule_cuda(def, width, knobs)
                               : schedule_cpu(def, width, target, knobs);
        return Halide::Pipeline(def.funcs);
    }
    const std::string name = knobs["autoscheduler"].get<std::string>();
    if (std::find(kAutoschedulers.begin(), kAutoschedulers.end(), name) == kAutoschedulers.end()) {
        throw std::invalid_argument("unknown autoscheduler " + name);
    }
    const int batch = knobs.value("batch", 16);
    size_t image = 0, scalar = 0;
    const int64_t flat = plan.params_size();
    for (const auto &a : def.signature.inputs) {
        if (a.type.kind == TensorKind::Scalar) {
            auto &param = def.scalars.at(scalar++);
            param.parameter().set_estimate(Halide::cast(param.type(), 0.5f));
        } else {
            def.images.at(image++).set_estimates(region_of(a, def.geometry, batch, flat));
        }
    }
    for (size_t i = 0; i < def.funcs.size(); ++i)
        def.funcs[i].set_estimates(region_of(def.signature.outputs[i], def.geometry, batch, flat));
    load_plugin_once(name);
    Halide::Pipeline pipeline(def.funcs);
    const auto t0 = std::chrono::steady_clock::now();
    // Parallelism: this machine's cores; last-level cache and balance of a current CPU.
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    pipeline.auto_schedule(name, target, Halide::MachineParams(cores, 32 << 20, 40));
    used = {{"autoscheduler", name},
            {"batch", batch},
            {"scheduling_seconds",
             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
    return pipeline;
}

}  // namespace fernn::sched
