// A spec file: JSON parsing, validation, the model plan and everything `fernn check` derives.
#include "runtime/plan/plan.h"
#include "runtime/spec/spec.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Json)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    const Spec spec = parse_spec(parse_json_strict(bytes, "spec.json"), JsonSource{"spec.json", {}});
    const ModelPlan plan = build_plan(spec);
    (void)plan.to_json().dump();
    (void)spec.model_hash();
    (void)spec.flops_encoder_step();
    (void)spec.flops_head_step();
})
