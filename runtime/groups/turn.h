// Turns of the plane as fernn samples them everywhere (the rotation flow's pipelines, the group
// action of `fernn equivariance`, Rotating MNIST): output pixel (x, y) reads the source at the
// point turned by θ about (cx, cy),
//   (ix, iy) = (cos θ (x−cx) − sin θ (y−cy) + cx,  sin θ (x−cx) + cos θ (y−cy) + cy),
// bilinearly, zeros outside (grid_sample's sampling). Positive θ turns the picture
// counter-clockwise as displayed (row 0 on top).
#pragma once

#include <cmath>

namespace fernn {

struct Turn {
    double cos = 1, sin = 0;
};

// A whole number of degrees, exact at quarter turns: cos(π/2) is 6e-17 in floating point,
// which would spoil the exact pixel permutations of multiples of 90°.
inline Turn turn_of_degrees(int degrees) {
    const int turn = ((degrees % 360) + 360) % 360;
    if (turn % 90 == 0) {
        const int q = turn / 90;
        return {q == 0 ? 1.0 : q == 2 ? -1.0 : 0.0, q == 1 ? 1.0 : q == 3 ? -1.0 : 0.0};
    }
    return {std::cos(degrees * M_PI / 180.0), std::sin(degrees * M_PI / 180.0)};
}

// How many orientation channels of C_N a turn by `degrees` (a multiple of 360/N) rolls, 0..N−1.
inline int orientation_roll(int degrees, int orientations) {
    return ((degrees * orientations / 360) % orientations + orientations) % orientations;
}

// The value at output pixel (x, y) of `at` (at(xx, yy): the source pixel, zero outside)
// turned by `t` about (cx, cy).
template <typename At>
double sample_turned(const At &at, int x, int y, const Turn &t, double cx, double cy) {
    const double xc = x - cx, yc = y - cy;
    const double ix = t.cos * xc - t.sin * yc + cx, iy = t.sin * xc + t.cos * yc + cy;
    const double fx = std::floor(ix), fy = std::floor(iy);
    const double ax = ix - fx, ay = iy - fy;
    const int x0 = int(fx), y0 = int(fy);
    return (1 - ax) * (1 - ay) * at(x0, y0) + ax * (1 - ay) * at(x0 + 1, y0) +
           (1 - ax) * ay * at(x0, y0 + 1) + ax * ay * at(x0 + 1, y0 + 1);
}

}  // namespace fernn
