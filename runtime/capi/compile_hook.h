// Where fernn_compile gets a compiled model: libfernn.so links the compiler and fills the cache
// (tools/compiler/capi_compile.cpp); libfernn_run.so, without Halide, says it cannot
// (runtime/capi/no_compiler.cpp), as fernn-run does.
#pragma once

#include <string>

#include "runtime/spec/spec.h"

namespace fernn::capi {

// The directory of the compiled model for these settings, compiled into cache_root (empty:
// the default cache) on first use; throws Unavailable without a compiler.
std::string compile_to_cache(const Spec &spec, const std::string &target,
                             const std::string &precision, const std::string &cache_root);

}  // namespace fernn::capi
