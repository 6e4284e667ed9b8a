// IDX digit files, plain and gzip-compressed.
#include "runtime/formats/idx.h"
#include "tests/fuzz/fuzz_target.h"

FERNN_FUZZ_MUTATOR(fernn::fuzz::Kind::Idx)
FERNN_FUZZ_TARGET({
    using namespace fernn;
    try {
        (void)parse_idx(bytes, "images-idx3-ubyte");
    } catch (const InputError &) {
    }
    (void)parse_idx_gzip(bytes, "images-idx3-ubyte.gz");
})
