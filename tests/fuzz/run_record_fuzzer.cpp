// A training run's run.json (spec, model hash, settings).
#include "runtime/training/run_record.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Json)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    (void)parse_run_record(parse_json_strict(bytes, "run.json"), "run.json");
})
