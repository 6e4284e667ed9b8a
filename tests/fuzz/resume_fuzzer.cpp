// A resume state's metadata, read from the safetensors file as --resume reads it.
#include "runtime/formats/safetensors.h"
#include "runtime/training/resume_metadata.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Safetensors)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    const TensorFile<float> f = parse_safetensors<float>(bytes, "resume.safetensors");
    // The hash of the corpus files' model; other hashes are refused like a foreign run's.
    (void)parse_resume_metadata(f.metadata, "resume.safetensors", "0123456789abcdef");
})
