// Compiled models cached by what determines their code: the model part of the spec, the
// resolved target, the precision, and the algorithm and schedule versions. `predict`, `encode`,
// `gradients` and the tests compile on first use and reuse the library afterwards.
#pragma once

#include <string>

#include "tools/compiler/compile_model.h"

namespace fernn {

// $FERNN_CACHE, else $XDG_CACHE_HOME/fernn, else ~/.cache/fernn.
std::string default_cache_root();

// The directory holding the compiled model for these settings, compiling it if absent.
// `log` receives one line when a compile happens (nullptr: silent).
std::string ensure_compiled(const Spec &spec, const std::string &target,
                            const std::string &precision, const std::string &cache_root,
                            std::ostream *log);

}  // namespace fernn
