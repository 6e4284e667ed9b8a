// fernn-run: the fernn command line without the compiler, for machines that only run models
// compiled elsewhere (GPU nodes, deployment images): it needs neither Halide nor LLVM. The
// commands that would compile say so and name what to do instead.
#include "tools/commands.h"

namespace fernn::cli {

namespace {

[[noreturn]] void no_compiler(const std::string &what) {
    throw InputError(what +
                     " needs the compiler, which fernn-run does not have (it runs compiled models "
                     "only); compile the model with `fernn compile SPEC --out DIR` (add "
                     "--target host,cuda for GPUs) where Halide is installed, then pass "
                     "--model DIR");
}

}  // namespace

bool has_compiler() {
    return false;
}

std::string compiled_model_dir(const Spec &spec, const std::string &, const std::string &) {
    no_compiler("running " + spec.name + " without --model DIR");
}

double machine_peak_gflops(int) {
    return 0;  // the FMA kernel that measures it is JIT-compiled
}

int compile(const SpecArgs &, const std::string &, const std::string &, const std::string &,
            const std::string &, const std::string &) {
    no_compiler("fernn compile");
}

int tune(const TuneArgs &) {
    no_compiler("fernn tune");
}

int data_import_kth(const KthArgs &) {
    throw InputError(
        "fernn data import-kth reads videos with FFmpeg's libraries, which fernn-run does not "
        "link; import with `fernn data import-kth DIR --out OUT` where fernn is installed and "
        "copy OUT here");
}

}  // namespace fernn::cli
