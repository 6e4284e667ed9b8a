// .npy files: frames (float32/float64), labels (integers) and the header of memory-mapped clips.
#include "runtime/formats/npy.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Npy)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    try {
        (void)parse_npy<float>(bytes, "x.npy");
    } catch (const InputError &) {
    }
    try {
        (void)parse_npy<double>(bytes, "x.npy");
    } catch (const InputError &) {
    }
    try {
        (void)parse_npy_integers(bytes, "labels.npy");
    } catch (const InputError &) {
    }
    (void)parse_npy_header(bytes.substr(0, 4096), bytes.size(), "clips.npy");
})
