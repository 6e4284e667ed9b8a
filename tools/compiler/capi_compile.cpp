// libfernn.so: fernn_compile compiles into the same cache as `fernn predict` and the tests.
#include <iostream>

#include "runtime/capi/compile_hook.h"
#include "tools/compiler/model_cache.h"

namespace fernn::capi {

std::string compile_to_cache(const Spec &spec, const std::string &target,
                             const std::string &precision, const std::string &cache_root) {
    // One line on stderr when a compile happens (tens of seconds); silent on a cache hit.
    return ensure_compiled(spec, target, precision,
                           cache_root.empty() ? default_cache_root() : cache_root, &std::cerr);
}

}  // namespace fernn::capi
