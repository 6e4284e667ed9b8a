#include "tools/compiler/compile_model.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "generators/pipelines.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/model/model_library.h"
#include "schedules/cpu_schedule.h"
#include "schedules/pipeline_schedule.h"
#include "schedules/schedule_record.h"
#include "schedules/schedule_util.h"

#ifndef FERNN_DEFAULT_CXX
#define FERNN_DEFAULT_CXX "c++"
#endif

namespace fernn {

namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One device's pipelines: where they run, how they are compiled and how their symbols start.
struct DeviceTarget {
    std::string device;  // "cpu" | "cuda"
    Halide::Target target;
    std::string prefix;  // "fernn_" | "fernn_cuda_"
};

const char *kTargetHelp =
    "allowed: \"host\", \"cuda\" (the host CPU with CUDA, sm_86 PTX), \"host,cuda\", or Halide "
    "target strings such as x86-64-linux-avx2-fma";

// "host", "cuda", "host,cuda" or Halide target strings, comma-separated, one per device.
std::vector<DeviceTarget> parse_targets(const std::string &text) {
    std::vector<DeviceTarget> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = text.find(',', start);
        const std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        Halide::Target t;
        if (item == "host") {
            t = Halide::get_host_target();
        } else if (item == "cuda") {
            // sm_86 is Halide 14's newest; newer GPUs (e.g. H100/H200) JIT the PTX.
            t = Halide::get_host_target()
                    .with_feature(Halide::Target::CUDA)
                    .with_feature(Halide::Target::CUDACapability86);
        } else if (Halide::Target::validate_target_string(item)) {
            t = Halide::Target(item);
        } else {
            throw InputError("--target: \"" + item + "\" is not a Halide target; " + kTargetHelp);
        }
        const bool cuda = t.has_feature(Halide::Target::CUDA);
        if (!cuda && t.has_gpu_feature()) {
            throw InputError("--target: \"" + item + "\": only CUDA GPU targets are supported; " +
                             kTargetHelp);
        }
        const std::string device = cuda ? "cuda" : "cpu";
        for (const auto &d : out) {
            if (d.device == device)
                throw InputError("--target: \"" + text + "\" names two " + device + " targets");
            if (d.target.os != t.os || d.target.arch != t.arch || d.target.bits != t.bits) {
                throw InputError("--target: \"" + text +
                                 "\": all targets must share the host's OS and architecture");
            }
        }
        out.push_back({device, t, cuda ? "fernn_cuda_" : "fernn_"});
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

// Halide's CUDA runtime finds the driver with dlopen("libcuda.so"), which driver installs
// without development files do not have; this definition (linked into CUDA libraries,
// overriding the runtime's weak one) also tries libcuda.so.1.
const char *kCudaSymbolSource = R"(#include <dlfcn.h>
extern "C" void *halide_cuda_get_symbol(void *, const char *name) {
    static void *lib = nullptr;
    if (!lib) {
        void *self = dlsym(RTLD_DEFAULT, name);
        if (self) return self;
        lib = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_GLOBAL);
        if (!lib) lib = dlopen("libcuda.so", RTLD_LAZY | RTLD_GLOBAL);
        if (!lib) return nullptr;
    }
    return dlsym(lib, name);
}
)";

// Runs argv without a shell; returns its exit status, with stderr captured into `output`.
int run_command(const std::vector<std::string> &argv, std::string &output, const std::string &log) {
    const pid_t pid = fork();
    if (pid == 0) {
        FILE *f = std::freopen(log.c_str(), "w", stderr);
        (void)f;
        dup2(2, 1);
        std::vector<char *> args;
        for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "cannot run %s\n", args[0]);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::ifstream in(log);
    output.assign(std::istreambuf_iterator<char>(in), {});
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct CompileJob {
    std::string name;
    // Where this job's schedule knobs came from, as "SOURCE: pipelines.NAME": the start of
    // the error when they are invalid.
    std::string knobs_where;
    std::function<void()> work;
};

// Runs the jobs in forked children, as many at a time as there are cores, and waits for all
// of them. A job's exception text (or the signal that killed it) becomes the error; invalid
// schedule knobs (std::invalid_argument) are bad input and are reported as `knobs_source`,
// the record or option that supplied them.
void run_in_children(const std::vector<CompileJob> &jobs, const std::string &dir) {
    const size_t parallel = std::max(1u, std::thread::hardware_concurrency());
    std::map<pid_t, const CompileJob *> running;
    std::string failure;
    bool bad_input = false;
    auto wait_one = [&] {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) return;
        const CompileJob &job = *running[pid];
        const std::string &name = job.name;
        running.erase(pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
        std::ifstream in(dir + "/" + name + ".err"), log(dir + "/" + name + ".log");
        std::string why(std::istreambuf_iterator<char>(in), {});
        std::string chatter(std::istreambuf_iterator<char>(log), {});
        if (chatter.size() > 2000) chatter = "..." + chatter.substr(chatter.size() - 2000);
        if (!chatter.empty()) why += "\n" + chatter;
        if (why.empty()) {
            why = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                      : "exit code " + std::to_string(WEXITSTATUS(status));
        }
        if (!failure.empty()) return;
        const std::string marker = "bad knobs: ";
        if (why.rfind(marker, 0) == 0) {
            bad_input = true;
            failure = job.knobs_where + ": " + why.substr(marker.size());
        } else {
            failure = "compiling " + name + " failed: " + why;
        }
    };
    for (const CompileJob &job : jobs) {
        while (running.size() >= parallel) wait_one();
        std::cout.flush();
        std::cerr.flush();
        const pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("cannot fork a compiler process");
        if (pid == 0) {
            // Halide's warnings and autoscheduler progress go to a log, quoted on failure.
            if (!std::freopen((dir + "/" + job.name + ".log").c_str(), "w", stderr)) _exit(126);
            int code = 0;
            try {
                job.work();
            } catch (const std::invalid_argument &e) {
                std::ofstream(dir + "/" + job.name + ".err") << "bad knobs: " << e.what();
                code = 1;
            } catch (const std::exception &e) {
                std::ofstream(dir + "/" + job.name + ".err") << e.what();
                code = 1;
            }
            _exit(code);
        }
        running[pid] = &job;
    }
    while (!running.empty()) wait_one();
    if (bad_input) throw InputError(failure);
    if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace

std::string resolve_target(const std::string &target) {
    std::string out;
    for (const auto &d : parse_targets(target))
        out += (out.empty() ? "" : ",") + d.target.to_string();
    return out;
}

CompileResult compile_model(const Spec &spec, const CompileOptions &given) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<DeviceTarget> devices = parse_targets(given.target);
    CompileOptions options = given;
    std::vector<std::string> warnings;
    // Knobs per device: those given (single-device compiles), else the device target's record.
    std::map<std::string, json> knobs;
    std::map<std::string, std::string> sources;
    // --algorithm: default knobs switched to it, per pipeline in its compile job (below).
    gen::ConvAlgorithm algorithm = gen::ConvAlgorithm::Direct;
    const bool one_algorithm = !options.algorithm.empty();
    if (one_algorithm && !gen::algorithm_from_name(options.algorithm, algorithm)) {
        throw InputError("--algorithm: \"" + options.algorithm +
                         "\" is not an algorithm; allowed: \"direct\", \"winograd2\", "
                         "\"winograd4\"");
    }
    for (const auto &d : devices) {
        knobs[d.device] = options.knobs;
        sources[d.device] = options.schedule_source;
        if (one_algorithm) {
            sources[d.device] = std::string("default schedules, every 3x3 stage that can in ") +
                                gen::algorithm_name(algorithm) + " (--algorithm)";
        } else if (options.use_records && options.knobs.empty()) {
            const sched::RecordMatch record = sched::find_record(
                spec, d.target.to_string(),
                options.records_dir.empty() ? sched::records_dir() : options.records_dir);
            if (record.stale) warnings.push_back(record.warning);
            if (record.found && !record.stale) {
                knobs[d.device] = record.knobs;
                sources[d.device] = record.path;
            }
        }
    }
    Halide::Type type;
    if (options.precision == "float32") {
        type = Halide::Float(32);
    } else if (options.precision == "float64") {
        type = Halide::Float(64);
    } else {
        throw InputError("--precision: \"" + options.precision +
                         "\" is not supported; allowed: \"float32\", \"float64\"");
    }

    const fs::path out_dir = options.out_dir;
    const fs::path staging = out_dir.string() + ".staging-" + std::to_string(getpid());
    fs::remove_all(staging);
    fs::create_directories(staging);
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{staging};

    // Each pipeline, and the runtime, is compiled in a child process: Halide state never
    // leaks between models compiled by one process (see pipelines.h), a crash inside Halide or
    // LLVM becomes an error message, and the pipelines compile in parallel. Pipelines carry no
    // runtime of their own; one standalone runtime (with CUDA's if any device needs it) serves
    // them all.
    const ModelPlan plan = build_plan(spec);
    std::vector<CompileJob> jobs;
    Halide::Target runtime_target = devices[0].target;
    for (const auto &d : devices) {
        if (d.device == "cuda") {
            runtime_target = runtime_target.with_feature(Halide::Target::CUDA);
        }
        const Halide::Target no_runtime = d.target.with_feature(Halide::Target::NoRuntime);
        for (size_t index = 0; index < plan.pipelines.size(); ++index) {
            const std::string name = plan.pipelines[index].name;
            const std::string job = d.prefix + name;
            jobs.push_back(
                {job, sources[d.device] + ": pipelines." + name,
                 [&, d, name, job, no_runtime, index] {
                     const auto p0 = std::chrono::steady_clock::now();
                     json stage_knobs = knobs[d.device].value(name, json::object());
                     if (one_algorithm) {
                         const gen::PipelineDef direct =
                             gen::build_pipeline(spec, plan, type, int(index));
                         stage_knobs = sched::default_knobs_with_algorithm(direct, spec.input.width,
                                                                           d.target, algorithm);
                     }
                     gen::PipelineDef def = gen::build_pipeline(spec, plan, type, int(index),
                                                                sched::algorithms_of(stage_knobs));
                     json used;
                     Halide::Pipeline pipeline =
                         sched::schedule_pipeline(def, plan, d.target, stage_knobs, used);
                     pipeline.compile_to_object((staging / (job + ".o")).string(), def.args, job,
                                                no_runtime);
                     json entry{{"name", name},
                                {"device", d.device},
                                {"symbol", job},
                                {"inputs", json::array()},
                                {"outputs", json::array()},
                                {"compile_seconds", seconds_since(p0)},
                                {"schedule", used}};
                     for (const auto &a : def.signature.inputs) entry["inputs"].push_back(a.name);
                     for (const auto &a : def.signature.outputs) entry["outputs"].push_back(a.name);
                     write_file_atomically((staging / (job + ".json")).string(), entry.dump());
                 }});
        }
    }
    jobs.push_back({"halide_runtime", "", [&] {
                        Halide::compile_standalone_runtime((staging / "halide_runtime.o").string(),
                                                           runtime_target);
                    }});
    run_in_children(jobs, staging.string());

    json pipelines = json::array(), targets = json::array();
    json schedule = json::object();
    std::vector<std::string> objects;
    for (const auto &d : devices) {
        targets.push_back({{"device", d.device},
                           {"target", d.target.to_string()},
                           {"schedules", sources[d.device]}});
        json &stages = schedule[d.device];
        for (const PipelineSignature &sig : plan.pipelines) {
            const std::string &name = sig.name;
            json entry = read_json_file((staging / (d.prefix + name + ".json")).string());
            stages[name] = entry["schedule"];
            entry.erase("schedule");
            pipelines.push_back(entry);
            objects.push_back((staging / (d.prefix + name + ".o")).string());
        }
    }
    objects.push_back((staging / "halide_runtime.o").string());

    // Export only the pipelines and the runtime calls the fernn runtime makes; the ~170 other
    // halide_* symbols stay local so several models can live in one process.
    std::string exported =
        "fernn_*; halide_set_error_handler; halide_set_num_threads; halide_shutdown_thread_pool;";
    const bool cuda = runtime_target.has_feature(Halide::Target::CUDA);
    if (cuda) {
        exported +=
            " halide_cuda_device_interface; halide_device_malloc; halide_device_free;"
            " halide_copy_to_device; halide_copy_to_host; halide_device_sync; "
            "halide_device_release;"
            " halide_cuda_wrap_device_ptr; halide_cuda_detach_device_ptr;"
            " halide_reuse_device_allocations;"
            // For NCCL on the model's buffers (runtime/model/cuda_context.h).
            " halide_cuda_acquire_context; halide_cuda_release_context; halide_cuda_get_stream;"
            " halide_cuda_get_device_ptr;";
        const std::string source = (staging / "cuda_symbol.cpp").string();
        write_file_atomically(source, kCudaSymbolSource);
        objects.push_back(source);  // compiled by the link command below
    }
    const std::string exports = (staging / "exports.map").string();
    write_file_atomically(exports, "{ global: " + exported + " local: *; };\n");
    const std::string library_name = library_file_name(spec.name);
    const char *cxx_env = std::getenv("CXX");
    std::vector<std::string> link = {cxx_env && *cxx_env ? cxx_env : FERNN_DEFAULT_CXX, "-shared",
                                     "-fPIC", "-o", (staging / library_name).string()};
    link.insert(link.end(), objects.begin(), objects.end());
    for (const std::string &flag : {"-Wl,--version-script=" + exports, std::string("-lpthread"),
                                    std::string("-ldl"), std::string("-lm")}) {
        link.push_back(flag);
    }
    std::string link_output;
    if (run_command(link, link_output, (staging / "link.log").string()) != 0) {
        throw std::runtime_error("linking " + library_name + " failed:\n" + link_output);
    }

    const std::string manifest_name = spec.name + ".manifest.json";
    json manifest{
        {"fernn_manifest", 1},
        {"algorithm_version", kAlgorithmVersion},
        {"library_version", kLibraryVersion},
        {"name", spec.name},
        {"library", library_name},
        {"library_hash", library_hash((staging / library_name).string())},
        {"target", devices[0].target.to_string()},
        {"targets", targets},
        {"precision", options.precision},
        {"model_hash", spec.model_hash()},
        {"spec", spec.normalized()},
        {"velocities", spec.flow.velocities},
        {"velocity_labels", spec.flow.labels()},
        {"plan", plan.to_json()},
        {"layouts",
         {{"frame", "[b][y][x][c] (Halide c, x, y, b)"},
          {"hidden", "[b][v][y][x][c] (Halide c, x, y, v, b)"},
          {"weight", "OIHW, as the PyTorch state_dict"},
          {"files", "npy sequences (B, T, C, H, W); hidden states (B, T, V, C, H, W)"}}},
        {"pipelines", pipelines},
        {"schedule",
         {{"source", sources[devices[0].device]},
          {"version", sched::kCpuScheduleVersion},
          {"stages", schedule[devices[0].device]},
          {"by_device", schedule}}},
    };
    json params = json::array();
    for (const auto &p : plan.params) params.push_back({{"name", p.name}, {"shape", p.shape}});
    manifest["parameters"] = params;
    manifest["compile_seconds"] = seconds_since(t0);
    write_file_atomically((staging / manifest_name).string(), manifest.dump(2) + "\n");

    // Move the finished files into place: library first, manifest last, so a manifest is
    // only ever seen beside its library.
    fs::create_directories(out_dir);
    fs::rename(staging / library_name, out_dir / library_name);
    fs::rename(staging / manifest_name, out_dir / manifest_name);
    CompileResult result;
    result.library = (out_dir / library_name).string();
    result.manifest = (out_dir / manifest_name).string();
    result.seconds = seconds_since(t0);
    result.warnings = warnings;
    result.schedule_source = sources[devices[0].device];
    for (const json &p : pipelines) {
        result.pipeline_seconds.emplace_back(
            p["device"].get<std::string>() == "cpu"
                ? p["name"].get<std::string>()
                : p["device"].get<std::string>() + " " + p["name"].get<std::string>(),
            p["compile_seconds"]);
    }
    return result;
}

}  // namespace fernn
