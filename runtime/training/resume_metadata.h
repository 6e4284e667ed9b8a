// The counters of a resume state (resume.safetensors metadata): text written by the trainer,
// read back as strictly as a spec because the file may have been damaged or edited.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace fernn {

// The counters a resume state's metadata holds, parsed strictly (whole-text integers in range,
// a finite or infinite best value); `model_hash` must match the file's.
struct ResumeCounters {
    int64_t step = 0, adam_steps = 0, best_step = 0;
    double best_val = 0;
};
ResumeCounters parse_resume_metadata(const std::map<std::string, std::string> &metadata,
                                     const std::string &path, const std::string &model_hash);

}  // namespace fernn
