// .safetensors checkpoints, gradients and resume states.
#include "runtime/formats/safetensors.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Safetensors)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    try {
        (void)parse_safetensors<double>(bytes, "x.safetensors");
    } catch (const InputError &) {
    }
    const TensorFile<float> f = parse_safetensors<float>(bytes, "x.safetensors");
    for (const auto &[name, a] : f.tensors) (void)shape_text(a.shape);
})
