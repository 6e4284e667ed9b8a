// libfernn_run.so: the C API without the compiler (no Halide, no LLVM), for machines that run
// models compiled elsewhere.
#include "runtime/capi/compile_hook.h"
#include "runtime/capi/model_handle.h"

namespace fernn::capi {

std::string compile_to_cache(const Spec &spec, const std::string &, const std::string &,
                             const std::string &) {
    throw Unavailable("compiling " + spec.name +
                      " needs the compiler, which libfernn_run.so does not have (it runs compiled "
                      "models only); compile with `fernn compile SPEC --out DIR` (or libfernn.so) "
                      "and open DIR with fernn_open");
}

}  // namespace fernn::capi
