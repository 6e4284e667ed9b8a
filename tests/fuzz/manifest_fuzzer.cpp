// A compiled model's manifest, everything checked before its library is opened.
#include "runtime/model/manifest.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Json)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    (void)parse_manifest(parse_json_strict(bytes, "m.manifest.json"), "m.manifest.json");
})
