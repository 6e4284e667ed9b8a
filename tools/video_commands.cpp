// The CLI's uses of FFmpeg's libraries (video import): linked into `fernn` only; fernn-run
// (no_compiler.cpp) says where to import instead.
#include <cstdio>

#include "runtime/data/kth.h"
#include "tools/commands.h"

namespace fernn::cli {

int data_import_kth(const KthArgs &a) {
    KthOptions o;
    o.dir = a.dir;
    o.out = a.out;
    o.size = a.size;
    o.seed = a.seed;
    o.clips_per_segment = a.clips_per_segment;
    const KthReport r = import_kth(o);
    std::printf(
        "imported %lld videos into %s: train %lld, validation %lld, test %lld clips of %d "
        "frames (%dx%d)\n",
        (long long)r.videos, a.out.c_str(), (long long)r.train, (long long)r.val, (long long)r.test,
        o.frames, o.size, o.size);
    if (!r.missing.empty()) {
        std::fprintf(stderr,
                     "fernn: warning: %zu annotated video(s) not found, skipped (e.g. %s)\n",
                     r.missing.size(), r.missing[0].c_str());
    }
    std::printf("train with --data clips:%s\n", a.out.c_str());
    return 0;
}

}  // namespace fernn::cli
