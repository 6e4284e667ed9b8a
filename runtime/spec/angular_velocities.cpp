#include "runtime/spec/angular_velocities.h"

#include <set>

namespace fernn {

namespace {

// The first broken rule of `v`, or "" when it is a valid list.
std::string problem_of(const std::vector<int> &v, std::string *where_index) {
    if (v.empty()) return "the list is empty; give at least one angular velocity";
    if (v.size() > limits::angular_velocity_count) {
        return "the list has " + std::to_string(v.size()) + " entries; allowed: at most " +
               std::to_string(limits::angular_velocity_count);
    }
    std::set<int> seen;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] < limits::angular_velocity.lo || v[i] > limits::angular_velocity.hi) {
            *where_index = std::to_string(i);
            return "value " + std::to_string(v[i]) +
                   " is out of range; allowed: whole degrees per frame in " +
                   std::to_string(limits::angular_velocity.lo) + ".." +
                   std::to_string(limits::angular_velocity.hi);
        }
        if (!seen.insert(v[i]).second) {
            *where_index = std::to_string(i);
            return "value " + std::to_string(v[i]) + " is listed twice; allowed: distinct values";
        }
    }
    return "";
}

}  // namespace

std::vector<int> default_data_angular_velocities() {
    std::vector<int> v;
    for (int w = -40; w <= 40; w += 10) v.push_back(w);
    return v;
}

std::vector<int> read_angular_velocities(const json &value, const std::string &path,
                                         const JsonSource &source) {
    std::vector<int> v;
    if (value.is_object()) {
        ObjectReader grid(value, path, source);
        const int step = grid.integer("step", 1, int(limits::angular_velocity.hi));
        const int range = grid.integer("range", 0, int(limits::angular_velocity.hi) / step);
        grid.finish();
        for (int i = -range; i <= range; ++i) v.push_back(i * step);
        return v;
    }
    if (!value.is_array()) {
        source.fail(path, "got " + describe(value) +
                              "; allowed: a list of degrees per frame or {\"step\": s, \"range\": R}");
    }
    if (value.size() > limits::angular_velocity_count) {
        source.fail(path, "the list has " + std::to_string(value.size()) +
                              " entries; allowed: at most " +
                              std::to_string(limits::angular_velocity_count));
    }
    for (size_t i = 0; i < value.size(); ++i) {
        v.push_back(int(require_integer(value[i], int(limits::angular_velocity.lo),
                                        int(limits::angular_velocity.hi),
                                        path + "[" + std::to_string(i) + "]", source)));
    }
    std::string index;
    const std::string problem = problem_of(v, &index);
    if (!problem.empty()) source.fail(index.empty() ? path : path + "[" + index + "]", problem);
    return v;
}

void check_angular_velocities(const std::vector<int> &v, const std::string &option) {
    std::string index;
    const std::string problem = problem_of(v, &index);
    if (!problem.empty()) throw InputError(option + ": " + problem);
}

}  // namespace fernn
