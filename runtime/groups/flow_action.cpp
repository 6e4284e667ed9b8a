#include "runtime/groups/flow_action.h"

#include <cmath>
#include <stdexcept>

namespace fernn {

namespace {

int wrap(int i, int n) {
    return ((i % n) + n) % n;
}

// cos and sin of a whole number of degrees, exact at quarter turns.
void cos_sin(int degrees, double &c, double &s) {
    const int turn = wrap(degrees, 360);
    if (turn % 90 == 0) {
        const int q = turn / 90;
        c = q == 0 ? 1 : q == 2 ? -1 : 0;
        s = q == 1 ? 1 : q == 3 ? -1 : 0;
        return;
    }
    c = std::cos(degrees * M_PI / 180.0);
    s = std::sin(degrees * M_PI / 180.0);
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
    const int roll = field_size > 1 ? wrap(degrees * field_size / 360, field_size) : 0;
    double c, s;
    cos_sin(degrees, c, s);
    const double centre = (width - 1) / 2.0, centre_y = (height - 1) / 2.0;
    for (int p = 0; p < planes; ++p) {
        const int field = p / field_size, n = p % field_size;
        const T *src = in + (int64_t(field) * field_size + wrap(n - roll, field_size)) * plane;
        T *dst = out + int64_t(p) * plane;
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                // Output pixel (x, y) samples the source at the point turned by θ (the flow's
                // sampling, grid_sample with align_corners=False).
                const double xc = x - centre, yc = y - centre_y;
                const double ix = c * xc - s * yc + centre, iy = s * xc + c * yc + centre_y;
                const double fx = std::floor(ix), fy = std::floor(iy);
                const double ax = ix - fx, ay = iy - fy;
                const int x0 = int(fx), y0 = int(fy);
                double sum = 0;
                auto tap = [&](int xx, int yy, double w) {
                    if (xx >= 0 && xx < width && yy >= 0 && yy < height && w != 0)
                        sum += w * double(src[int64_t(yy) * width + xx]);
                };
                tap(x0, y0, (1 - ax) * (1 - ay));
                tap(x0 + 1, y0, ax * (1 - ay));
                tap(x0, y0 + 1, (1 - ax) * ay);
                tap(x0 + 1, y0 + 1, ax * ay);
                dst[int64_t(y) * width + x] = T(sum);
            }
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
