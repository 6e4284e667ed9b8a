#include "runtime/groups/flow_action.h"

#include "runtime/groups/turn.h"

#include <stdexcept>

namespace fernn {

namespace {

int wrap(int i, int n) {
    return ((i % n) + n) % n;
}

}  // namespace

bool has_group_action(const FlowSpec &flow) {
    return flow.group == "translation" || flow.group == "rotation";
}

bool exact_action(const FlowSpec &flow, const std::vector<int> &nu, int times) {
    if (flow.group == "translation") return true;
    if (flow.group == "rotation") return wrap(nu.at(0) * times, 90) == 0;
    return false;
}

template <typename T>
void act_on_planes(const FlowSpec &flow, const std::vector<int> &nu, int times, const T *in,
                   T *out, int planes, int height, int width, int field_size) {
    const int64_t plane = int64_t(height) * width;
    if (flow.group == "translation") {
        const int dx = nu.at(0) * times, dy = nu.at(1) * times;
        for (int p = 0; p < planes; ++p)
            for (int y = 0; y < height; ++y)
                for (int x = 0; x < width; ++x)
                    out[p * plane + int64_t(y) * width + x] =
                        in[p * plane + int64_t(wrap(y - dy, height)) * width + wrap(x - dx, width)];
        return;
    }
    if (flow.group != "rotation") throw std::logic_error("flow group has no action: " + flow.group);
    const int degrees = nu.at(0) * times;
    // Orientation n of a field moves to n + r (field_size 1: no orientations to roll).
    const int roll = field_size > 1 ? orientation_roll(degrees, field_size) : 0;
    const Turn turn = turn_of_degrees(degrees);
    const double cx = (width - 1) / 2.0, cy = (height - 1) / 2.0;
    for (int p = 0; p < planes; ++p) {
        const int field = p / field_size, n = p % field_size;
        const T *src = in + (int64_t(field) * field_size + wrap(n - roll, field_size)) * plane;
        T *dst = out + int64_t(p) * plane;
        auto at = [&](int xx, int yy) {
            return xx >= 0 && xx < width && yy >= 0 && yy < height
                       ? double(src[int64_t(yy) * width + xx])
                       : 0.0;
        };
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                dst[int64_t(y) * width + x] = T(sample_turned(at, x, y, turn, cx, cy));
    }
}

int copy_minus(const FlowSpec &flow, int copy, const std::vector<int> &nu, int height, int width) {
    const std::vector<int> &v = flow.velocities.at(copy);
    for (size_t i = 0; i < flow.velocities.size(); ++i) {
        const std::vector<int> &w = flow.velocities[i];
        if (flow.group == "translation") {
            if (wrap(w[0] - (v[0] - nu.at(0)), width) == 0 &&
                wrap(w[1] - (v[1] - nu.at(1)), height) == 0)
                return int(i);
        } else if (flow.group == "rotation") {
            if (wrap(w[0] - (v[0] - nu.at(0)), 360) == 0) return int(i);
        }
    }
    return -1;
}

template void act_on_planes<float>(const FlowSpec &, const std::vector<int> &, int, const float *,
                                   float *, int, int, int, int);
template void act_on_planes<double>(const FlowSpec &, const std::vector<int> &, int,
                                    const double *, double *, int, int, int, int);

}  // namespace fernn
