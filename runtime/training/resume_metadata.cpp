#include "runtime/training/resume_metadata.h"

#include "runtime/formats/strict_number.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/limits.h"

namespace fernn {

ResumeCounters parse_resume_metadata(const std::map<std::string, std::string> &metadata,
                                     const std::string &path, const std::string &model_hash) {
    auto meta = [&](const std::string &key) {
        auto it = metadata.find(key);
        if (it == metadata.end()) throw InputError(path + ": metadata " + key + " is missing");
        return it->second;
    };
    if (meta("fernn.model_hash") != model_hash) {
        throw InputError(path + ": saved for model " + bounded_text(meta("fernn.model_hash"), 40) +
                         ", not " + model_hash);
    }
    auto count = [&](const std::string &key) {
        const auto v = parse_int64(meta(key), 0, limits::steps.hi);
        if (!v) {
            throw InputError(path + ": metadata " + key + " = \"" + bounded_text(meta(key), 40) +
                             "\"; allowed: an integer in 0.." + std::to_string(limits::steps.hi));
        }
        return *v;
    };
    ResumeCounters c;
    c.step = count("fernn.step");
    c.adam_steps = count("fernn.adam_steps");
    c.best_step = count("fernn.best_step");
    const auto best = parse_real(meta("fernn.best_val"), /*infinite_ok=*/true);
    if (!best || *best < 0 || c.best_step > c.step) {
        throw InputError(path + ": metadata fernn.best_val = \"" +
                         bounded_text(meta("fernn.best_val"), 40) +
                         "\", fernn.best_step = " + std::to_string(c.best_step) +
                         "; allowed: a non-negative number or inf, at a step not after fernn.step");
    }
    c.best_val = *best;
    return c;
}

}  // namespace fernn
