// --set PATH=VALUE overrides: each input line is one assignment, applied to a valid spec.
#include "runtime/spec/spec.h"
#include "tests/fuzz/fuzz_target.h"

namespace {
const char *kSpec = R"({"fernn": 1, "name": "tiny_fernn", "input": {"channels": 1, "height": 6, "width": 7},
  "flow": {"group": "translation", "velocities": {"range": 1}, "boundary": "circular"},
  "lifting": {"kernel": 3}, "recurrence": {"channels": 5, "kernel": 3, "activation": "relu"},
  "readout": {"pool": "max", "decoder": {"layers": 2, "kernel": 3}, "channels": 1},
  "sequence": {"input_frames": 3, "output_frames": 2}})";
}

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Json)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    JsonSource source{"spec.json", {}};
    json doc = parse_json_strict(kSpec, "spec.json");
    // At most 64 assignments: a command line holds a few, and thousands of failing ones only
    // slow the fuzzer down (each is an exception) without reaching new code.
    size_t at = 0;
    for (int line = 0; line < 64 && at <= bytes.size(); ++line) {
        size_t end = bytes.find('\n', at);
        if (end == std::string::npos) end = bytes.size();
        apply_override(doc, bytes.substr(at, end - at), source);
        at = end + 1;
    }
    (void)parse_spec(doc, source).model_hash();
})
