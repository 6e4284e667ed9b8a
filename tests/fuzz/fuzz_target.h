// What every fuzzer checks: a reader given any bytes either returns or throws InputError (exit
// code 2 with the file named). Any other exception, a crash, a sanitizer report, a leak or an
// allocation beyond libFuzzer's -malloc_limit_mb is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/spec/json_reader.h"
#include "tests/fuzz/structure_mutations.h"

#define FERNN_FUZZ_TARGET(...)                                                      \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {        \
        const std::string bytes(reinterpret_cast<const char *>(data), size);         \
        try {                                                                        \
            __VA_ARGS__;                                                             \
        } catch (const fernn::InputError &) {                                        \
        }                                                                            \
        return 0;                                                                    \
    }
