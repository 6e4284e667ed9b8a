#include "runtime/groups/cyclic_basis.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace fernn {

namespace {

// The real irreps of C_N are its frequencies f = 0..N/2: 1-dimensional for f = 0 and (N
// even) f = N/2, else 2-dimensional ρ_f(θ) = [[cos fθ, −sin fθ], [sin fθ, cos fθ]].
int irrep_size(int n, int f) {
    return (f == 0 || (n % 2 == 0 && 2 * f == n)) ? 1 : 2;
}

// A dense 4-index array.
struct Array4 {
    int d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    std::vector<double> v;
    Array4(int a, int b, int c, int d) : d0(a), d1(b), d2(c), d3(d), v(size_t(a) * b * c * d) {}
    double &operator()(int a, int b, int c, int d) { return v[((size_t(a) * d1 + b) * d2 + c) * d3 + d]; }
    double operator()(int a, int b, int c, int d) const {
        return v[((size_t(a) * d1 + b) * d2 + c) * d3 + d];
    }
};

// escnn's CyclicGroup._clebsh_gordan_coeff(m, n, j): shape (|m|, |n|, multiplicity, |j|).
Array4 clebsch_gordan(int n_order, int m, int n, int j) {
    const int sm = irrep_size(n_order, m), sn = irrep_size(n_order, n),
              sj = irrep_size(n_order, j);
    // The one-copy cases: an identity between the flattened (m, n) pair and j, with j's
    // second component negated where escnn negates it.
    auto identity = [&](bool negate_second) {
        Array4 cg(sm, sn, 1, sj);
        for (int a = 0; a < sm; ++a)
            for (int b = 0; b < sn; ++b)
                for (int c = 0; c < sj; ++c)
                    if (a * sn + b == c) cg(a, b, 0, c) = (negate_second && c == 1) ? -1.0 : 1.0;
        return cg;
    };
    if (m == 0 || n == 0) return j == m + n ? identity(false) : Array4(sm, sn, 0, sj);
    if (n_order % 2 == 0 && (2 * m == n_order || 2 * n == n_order)) {
        if (j == m + n) return identity(false);
        if (j == n_order - m - n) return identity(sj > 1);
        return Array4(sm, sn, 0, sj);
    }
    // Two 2-dimensional irreps: columns 2..3 couple to m + n (or N − m − n), 0..1 to m − n.
    const double r = 1.0 / std::sqrt(2.0);
    const double full[4][4] = {{r, 0, r, 0}, {0, r, 0, r}, {0, -r, 0, r}, {r, 0, -r, 0}};
    int first;
    bool negate = false;
    if (j == m + n) {
        first = 2;
    } else if (j == n_order - m - n) {
        first = 2;
        negate = true;
    } else if (j == m - n) {
        first = 0;
    } else if (j == n - m) {
        first = 0;
        negate = true;
    } else {
        return Array4(sm, sn, 0, sj);
    }
    // escnn negates the block's second column, reshapes the 4×2 block to (|n|, |m|, 2/|j|,
    // |j|) (a 1-dimensional j appears twice) and swaps the first two axes.
    const int copies = 2 / sj;
    Array4 cg(sm, sn, copies, sj);
    for (int a = 0; a < sm; ++a)
        for (int b = 0; b < sn; ++b)
            for (int s = 0; s < copies; ++s)
                for (int c = 0; c < sj; ++c) {
                    const int column = s * sj + c;
                    cg(a, b, s, c) =
                        full[b * sm + a][first + column] * ((negate && column == 1) ? -1.0 : 1.0);
                }
    return cg;
}

// escnn's CyclicGroup._tensor_product_irreps(J, l): the irreps in J ⊗ l, in its order.
std::vector<int> tensor_product_irreps(int n_order, int big_j, int l) {
    if (big_j == 0 || l == 0) return {big_j + l};
    const int j = 2 * (big_j + l) <= n_order ? big_j + l : n_order - big_j - l;
    if (n_order % 2 == 0 && (2 * big_j == n_order || 2 * l == n_order)) return {j};
    if (l == big_j) return {0, j};
    return {std::abs(l - big_j), j};
}

// The basis of C_N-equivariant endomorphisms of irrep f: the identity, and for 2-dimensional
// (complex-type) irreps also the quarter turn [[0, −1], [1, 0]].
std::vector<std::vector<double>> endomorphisms(int n_order, int f) {
    if (irrep_size(n_order, f) == 1) return {{1.0}};
    return {{1, 0, 0, 1}, {0, -1, 1, 0}};
}

// The O(2) harmonic of frequency h restricted to C_N (escnn's O2._restrict_irrep for the
// subgroup (None, N)): the C_N irreps it splits into, and its inverse change of basis.
struct Restriction {
    std::vector<int> irreps;
    std::vector<std::vector<double>> inverse;  // rows: restricted components; columns: Y
};
Restriction restrict_harmonic(int n_order, int h) {
    if (h == 0) return {{0}, {{1.0}}};
    int f = h % n_order;
    double flip = 1.0;
    if (2 * f > n_order) {
        f = n_order - f;
        flip = -1.0;
    }
    Restriction r;
    r.irreps = irrep_size(n_order, f) < 2 ? std::vector<int>{f, f} : std::vector<int>{f};
    r.inverse = {{1.0, 0.0}, {0.0, flip}};
    return r;
}

// The Wigner-Eckart coefficients of harmonic h for input irrep m → output irrep n (escnn's
// RestrictedWignerEckartBasis): one (|n|, |m|, |Y_h|) array per coefficient, in escnn's
// (j, k, s, t) order.
std::vector<std::vector<double>> harmonic_coefficients(int n_order, int m, int n, int h) {
    const int so = irrep_size(n_order, n), si = irrep_size(n_order, m), sy = h == 0 ? 1 : 2;
    const Restriction res = restrict_harmonic(n_order, h);
    std::vector<std::vector<double>> out;
    for (int j : tensor_product_irreps(n_order, m, n)) {
        const int sj = irrep_size(n_order, j);
        // id[c][y][t]: the t-th copy of j inside the restricted harmonic.
        std::vector<int> starts;
        int p = 0;
        for (int i : res.irreps) {
            if (i == j) starts.push_back(p);
            p += irrep_size(n_order, i);
        }
        if (starts.empty()) continue;
        const Array4 cg = clebsch_gordan(n_order, n, m, j);
        const auto endo = endomorphisms(n_order, j);
        for (size_t k = 0; k < endo.size(); ++k) {
            for (int s = 0; s < cg.d2; ++s) {
                for (size_t t = 0; t < starts.size(); ++t) {
                    std::vector<double> c(size_t(so) * si * sy, 0.0);
                    for (int o = 0; o < so; ++o)
                        for (int i = 0; i < si; ++i)
                            for (int y = 0; y < sy; ++y) {
                                double sum = 0;
                                for (int a = 0; a < sj; ++a)
                                    for (int b = 0; b < sj; ++b)
                                        sum += cg(o, i, s, b) * endo[k][a * sj + b] *
                                               res.inverse[starts[t] + a][y];
                                c[(o * si + i) * sy + y] = sum;
                            }
                    out.push_back(std::move(c));
                }
            }
        }
    }
    return out;
}

// escnn's change of basis of the regular representation: row g (rotation by 2πg/N) holds the
// irreps' components [1, √2 cos fθ, √2 sin fθ, ..., cos(N/2 θ)] / √N.
std::vector<std::vector<double>> regular_change_of_basis(int n_order) {
    std::vector<std::vector<double>> q(n_order);
    for (int g = 0; g < n_order; ++g) {
        const double theta = 2.0 * M_PI * g / n_order;
        for (int f = 0; 2 * f <= n_order; ++f) {
            if (irrep_size(n_order, f) == 1) {
                q[g].push_back(std::cos(f * theta) / std::sqrt(double(n_order)));
            } else {
                q[g].push_back(std::sqrt(2.0) * std::cos(f * theta) / std::sqrt(double(n_order)));
                q[g].push_back(std::sqrt(2.0) * std::sin(f * theta) / std::sqrt(double(n_order)));
            }
        }
    }
    return q;
}

// escnn's default band limit (_manual_fco1): the highest harmonic sampled on ring r.
int band_limit(int ring, int kernel) {
    const int max_radius = kernel / 2;
    if (ring == 0) return 0;
    return std::min(2 * ring, ring == max_radius ? 2 : 2 * ring - (ring + 1) % 2);
}

}  // namespace

SteerableBasis cyclic_steerable_basis(int orientations, int kernel, FieldKind in) {
    const int n_order = orientations;
    if (n_order < 1 || kernel < 1 || kernel % 2 == 0) {
        throw std::invalid_argument("cyclic_steerable_basis: need N >= 1 and an odd kernel, got N=" +
                                    std::to_string(n_order) + ", k=" + std::to_string(kernel));
    }
    const int points = kernel * kernel, c = (kernel - 1) / 2;
    // Rings at radii 0..c (escnn: linspace(0, (k-1)//2, ceil(k/2))), float32 widths as escnn
    // stores them.
    const int rings = c + 1;
    std::vector<double> sigma(rings, double(0.6f));
    sigma.back() = double(0.4f);
    sigma[0] = double(0.005f);
    int max_harmonic = 0;
    for (int r = 0; r < rings; ++r) max_harmonic = std::max(max_harmonic, band_limit(r, kernel));

    // Y[h][p][r][y]: ring r's Gaussian times harmonic h's cos/sin of (φ − π/2) at point p.
    std::vector<std::vector<double>> harmonics(max_harmonic + 1,
                                               std::vector<double>(size_t(points) * rings * 2));
    for (int p = 0; p < points; ++p) {
        const double x = p % kernel - c, y = c - p / kernel;
        const double radius = std::hypot(x, y), phi = std::atan2(y, x) - M_PI / 2;
        for (int r = 0; r < rings; ++r) {
            const double d = r - radius;
            const double g = std::exp(-0.5 * d * d / (sigma[r] * sigma[r]));
            for (int h = 0; h <= max_harmonic; ++h) {
                double *slot = &harmonics[h][(size_t(p) * rings + r) * 2];
                if (h == 0) {
                    slot[0] = g;
                } else if (radius > 1e-9) {
                    slot[0] = g * std::cos(h * phi);
                    slot[1] = g * std::sin(h * phi);
                }
            }
        }
    }

    std::vector<int> irreps;
    for (int f = 0; 2 * f <= n_order; ++f) irreps.push_back(f);
    const std::vector<int> in_irreps = in == FieldKind::Regular ? irreps : std::vector<int>{0};
    const auto q = regular_change_of_basis(n_order);

    SteerableBasis basis;
    basis.out_size = n_order;
    basis.in_size = in == FieldKind::Regular ? n_order : 1;
    basis.kernel = kernel;
    const size_t element_size = size_t(basis.out_size) * basis.in_size * points;
    std::vector<double> element(element_size);
    for (int h = 0; h <= max_harmonic; ++h) {
        const int sy = h == 0 ? 1 : 2;
        int in_pos = 0;
        for (int m : in_irreps) {
            const int si = irrep_size(n_order, m);
            int out_pos = 0;
            for (int n : irreps) {
                const int so = irrep_size(n_order, n);
                for (const auto &coeff : harmonic_coefficients(n_order, m, n, h)) {
                    for (int r = 0; r < rings; ++r) {
                        if (h > band_limit(r, kernel)) continue;
                        // The irreps-basis block, mapped to the regular representation(s).
                        std::fill(element.begin(), element.end(), 0.0);
                        for (int p = 0; p < points; ++p) {
                            const double *yv = &harmonics[h][(size_t(p) * rings + r) * 2];
                            for (int o = 0; o < so; ++o)
                                for (int i = 0; i < si; ++i) {
                                    double k_oi = 0;
                                    for (int y = 0; y < sy; ++y)
                                        k_oi += coeff[(o * si + i) * sy + y] * yv[y];
                                    if (k_oi == 0) continue;
                                    for (int a = 0; a < basis.out_size; ++a) {
                                        const double qa = q[a][out_pos + o] * k_oi;
                                        for (int b = 0; b < basis.in_size; ++b) {
                                            const double qb =
                                                in == FieldKind::Regular ? q[b][in_pos + i] : 1.0;
                                            element[(size_t(a) * basis.in_size + b) * points + p] +=
                                                qa * qb;
                                        }
                                    }
                                }
                        }
                        // escnn's normalization: the trace norm over the output irrep's size.
                        double squares = 0;
                        for (double e : element) squares += e * e;
                        double norm2 = squares / so;
                        if (norm2 < 1e-15) norm2 = 0;
                        double norm = std::sqrt(norm2);
                        if (norm < 1e-6) norm = 1;
                        if (squares / (norm * norm) <= 1e-2) continue;  // vanishes on the grid
                        for (double e : element) basis.values.push_back(e / norm);
                        basis.in_irrep.push_back(m);
                        basis.out_irrep.push_back(n);
                        ++basis.elements;
                    }
                }
                out_pos += so;
            }
            in_pos += si;
        }
    }
    return basis;
}

int64_t cyclic_basis_elements_bound(int orientations, int kernel, FieldKind in) {
    const int n_order = orientations, rings = (kernel - 1) / 2 + 1;
    int max_harmonic = 0;
    for (int r = 0; r < rings; ++r) max_harmonic = std::max(max_harmonic, band_limit(r, kernel));
    std::vector<int> irreps;
    for (int f = 0; 2 * f <= n_order; ++f) irreps.push_back(f);
    const std::vector<int> in_irreps = in == FieldKind::Regular ? irreps : std::vector<int>{0};
    int64_t count = 0;
    for (int h = 0; h <= max_harmonic; ++h) {
        int64_t rings_sampled = 0;
        for (int r = 0; r < rings; ++r) rings_sampled += h <= band_limit(r, kernel) ? 1 : 0;
        for (int m : in_irreps)
            for (int n : irreps)
                count += int64_t(harmonic_coefficients(n_order, m, n, h).size()) * rings_sampled;
    }
    return count;
}

std::vector<double> steerable_init_std(const SteerableBasis &basis, int fields_in) {
    std::map<std::pair<int, int>, int> pair_elements;  // (in irrep, out irrep) -> count
    std::map<int, std::set<int>> inputs;               // out irrep -> in irreps reaching it
    for (int e = 0; e < basis.elements; ++e) {
        ++pair_elements[{basis.in_irrep[e], basis.out_irrep[e]}];
        inputs[basis.out_irrep[e]].insert(basis.in_irrep[e]);
    }
    std::vector<double> out(basis.elements);
    for (int e = 0; e < basis.elements; ++e) {
        const double reach = double(inputs[basis.out_irrep[e]].size());
        out[e] = 1.0 / std::sqrt(reach * fields_in *
                                 pair_elements[{basis.in_irrep[e], basis.out_irrep[e]}]);
    }
    return out;
}

std::vector<float> expand_steerable_filter(const SteerableBasis &basis, const float *weights,
                                           int fields_out, int fields_in) {
    const int points = basis.kernel * basis.kernel;
    const int64_t rows = int64_t(fields_out) * basis.out_size,
                  cols = int64_t(fields_in) * basis.in_size;
    std::vector<float> filter(size_t(rows * cols * points), 0.0f);
    for (int o = 0; o < fields_out; ++o)
        for (int c = 0; c < fields_in; ++c) {
            const float *w = weights + (int64_t(o) * fields_in + c) * basis.elements;
            for (int a = 0; a < basis.out_size; ++a)
                for (int b = 0; b < basis.in_size; ++b)
                    for (int p = 0; p < points; ++p) {
                        double sum = 0;
                        for (int e = 0; e < basis.elements; ++e) sum += w[e] * basis.at(e, a, b, p);
                        const int64_t row = int64_t(o) * basis.out_size + a,
                                      col = int64_t(c) * basis.in_size + b;
                        filter[size_t((row * cols + col) * points + p)] = float(sum);
                    }
        }
    return filter;
}

}  // namespace fernn
