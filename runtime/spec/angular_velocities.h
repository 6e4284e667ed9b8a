// The angular velocities turning training data (Rotating MNIST) may have, in whole degrees per
// frame: what `training.data_angular_velocities`, run.json and the command line give. Any whole
// degree is allowed, not only multiples of the model's 360/N: data turning between a model's
// velocities is what a generalization test shows. At most 360 distinct values in -359..359.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"
#include "runtime/spec/limits.h"

namespace fernn {

namespace limits {
constexpr Limits<int64_t> angular_velocity{-359, 359};
constexpr size_t angular_velocity_count = 360;
}  // namespace limits

// The reference's default (`--data_v_list`): -40..40 by 10.
std::vector<int> default_data_angular_velocities();

// A list of degrees per frame, or {"step": s, "range": R} for -R·s, ..., R·s; fails at `path`.
std::vector<int> read_angular_velocities(const json &value, const std::string &path,
                                         const JsonSource &source);

// The same rules for a list from the command line; throws InputError naming `option`.
void check_angular_velocities(const std::vector<int> &v, const std::string &option);

}  // namespace fernn
