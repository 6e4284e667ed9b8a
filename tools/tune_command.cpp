// fernn tune: the schedule search of schedules/tuner.h behind the command line.
#include <csignal>
#include <cstdio>
#include <regex>

#include "schedules/schedule_record.h"
#include "tools/commands.h"
#include "tools/compiler/compile_model.h"
#include "tools/compiler/tuner.h"

namespace fernn::cli {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void request_stop(int) {
    g_stop = 1;
}

// "10m", "90s", "1h", "600" (seconds).
double parse_budget(const std::string &text) {
    std::smatch m;
    if (!std::regex_match(text, m, std::regex(R"((\d+(?:\.\d+)?)([smh]?))"))) {
        throw InputError("--budget: \"" + text +
                         "\" is not a duration; allowed: e.g. 90s, 10m, 1h");
    }
    const double v = std::stod(m[1]);
    return m[2] == "h" ? v * 3600 : m[2] == "m" ? v * 60 : v;
}

}  // namespace

int tune(const TuneArgs &a) {
    const Spec spec = load_spec(a.spec, a.sets);
    const std::string target = resolve_target(a.target);
    sched::TuneOptions o;
    o.batch = a.batch;
    o.threads = a.threads;
    o.budget_seconds = parse_budget(a.budget);
    o.autoschedulers = !a.no_autoschedulers;
    o.record_path =
        sched::record_path(spec, target, a.records.empty() ? sched::records_dir() : a.records);
    o.log = [](const std::string &line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    o.stop = &g_stop;
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);
    std::fprintf(stderr, "tuning %s for %s, batch %d, budget %s; record: %s\n", spec.name.c_str(),
                 target.c_str(), a.batch, a.budget.c_str(), o.record_path.c_str());
    const json record = sched::tune(spec, target, o);
    std::printf("%s record %s\n", g_stop ? "interrupted; best so far in" : "wrote",
                o.record_path.c_str());
    for (const auto &item : record["measured_ms"].items()) {
        std::printf("  %-17s default %8.2f ms -> tuned %8.2f ms\n", item.key().c_str(),
                    item.value()["default"].get<double>(), item.value()["tuned"].get<double>());
    }
    return 0;
}

}  // namespace fernn::cli
