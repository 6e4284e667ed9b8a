// metrics.jsonl, read when a run resumes and by fernn plot.
#include "runtime/training/metrics_log.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Json)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    for (const json &record : parse_metrics(bytes, "metrics.jsonl")) (void)record.dump();
})
