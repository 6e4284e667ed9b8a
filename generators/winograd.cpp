#include "generators/winograd.h"

#include <stdexcept>

namespace fernn::gen {

namespace {

using Matrix = std::vector<std::vector<double>>;

// F(m, 3): Bᵀ ((m+2)×(m+2)), G ((m+2)×3), Aᵀ (m×(m+2)), with the interpolation points 0, ±1
// (m = 2) and 0, ±1, ±2 (m = 4) and the point at infinity, as Lavin & Gray list them.
struct Transforms {
    Matrix bt, g, at;
};

const Transforms &transforms(int m) {
    static const Transforms f2{{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}},
                               {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}},
                               {{1, 1, 1, 0}, {0, 1, -1, -1}}};
    static const Transforms f4{
        {{4, 0, -5, 0, 1, 0},
         {0, -4, -4, 1, 1, 0},
         {0, 4, -4, -1, 1, 0},
         {0, -2, -1, 2, 1, 0},
         {0, 2, -1, -2, 1, 0},
         {0, 4, 0, -5, 0, 1}},
        {{1.0 / 4, 0, 0},
         {-1.0 / 6, -1.0 / 6, -1.0 / 6},
         {-1.0 / 6, 1.0 / 6, -1.0 / 6},
         {1.0 / 24, 1.0 / 12, 1.0 / 6},
         {1.0 / 24, -1.0 / 12, 1.0 / 6},
         {0, 0, 1}},
        {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};
    if (m == 2) return f2;
    if (m == 4) return f4;
    throw std::invalid_argument("Winograd F(m, 3) exists here for m = 2 and 4 only");
}

// Row i of `rows` applied to term(k) for every i, selected by `index`: mux(index, {Σ_k
// rows[i][k] · term(k)}). Zero coefficients are left out, ±1 multiply nothing.
template <typename Term>
Expr combine(const Expr &index, const Matrix &rows, Type type, Term term) {
    std::vector<Expr> choices;
    for (const auto &row : rows) {
        Expr sum;
        for (size_t k = 0; k < row.size(); ++k) {
            if (row[k] == 0) continue;
            Expr t = term(int(k));
            if (row[k] == -1) {
                t = -t;
            } else if (row[k] != 1) {
                t = Halide::Internal::make_const(type, row[k]) * t;
            }
            sum = sum.defined() ? sum + t : t;
        }
        choices.push_back(sum.defined() ? sum : Halide::cast(type, 0));
    }
    return Halide::mux(index, choices);
}

Matrix transpose(const Matrix &a) {
    Matrix t(a[0].size(), std::vector<double>(a.size()));
    for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = 0; j < a[i].size(); ++j) t[j][i] = a[i][j];
    return t;
}

// Arguments of a tile-indexed Func: (front..., [v,] b).
std::vector<Expr> with_batch(std::vector<Expr> front, bool has_v) {
    if (has_v) front.push_back(dims().v);
    front.push_back(dims().b);
    return front;
}

// V = Bᵀ d B per (c, tile): the tile at (tx, ty) reads input rows and columns m·t - 1 ..
// m·t + m (the 3×3 kernel's half-width 1); along x first, then y.
void input_tiles(const std::string &name, const Func &in, bool has_v, Type type,
                 WinogradFuncs &wf) {
    const Dims &d = dims();
    const WinogradDims &w = winograd_dims();
    const int m = wf.tile;
    const Matrix &bt = transforms(m).bt;
    wf.input_x = Func(name + "_input_x");
    wf.input_x(with_batch({d.c, w.e, w.tx, d.y}, has_v)) = combine(w.e, bt, type, [&](int k) {
        return in(with_batch({d.c, w.tx * m + k - 1, d.y}, has_v));
    });
    wf.input = Func(name + "_input");
    wf.input(with_batch({d.c, w.e, w.n, w.tx, w.ty}, has_v)) = combine(w.n, bt, type, [&](int k) {
        return wf.input_x(with_batch({d.c, w.e, w.tx, w.ty * m + k - 1}, has_v));
    });
}

}  // namespace

const WinogradDims &winograd_dims() {
    static const WinogradDims d;
    return d;
}

ConvStage correlate_winograd(const std::string &name, const Func &in, const Func &pad,
                             const Func &packed, int in_channels, int out_channels, bool has_v,
                             Type type, ConvAlgorithm algorithm) {
    const Dims &d = dims();
    const WinogradDims &w = winograd_dims();
    const int m = winograd_tile(algorithm);
    const Transforms &f = transforms(m);
    // Arguments of a Func over (c, then the given middle dims, [v,] b).
    auto args = [&](std::vector<Expr> front) { return with_batch(std::move(front), has_v); };
    WinogradFuncs wf;
    wf.tile = m;
    // U = G w Gᵀ per (co, ci): along kx, then ky.
    Func filter_x(name + "_filter_x");
    filter_x(d.co, d.ci, w.e, d.ky) =
        combine(w.e, f.g, type, [&](int k) { return packed(d.co, d.ci, k, d.ky); });
    wf.filter = Func(name + "_filter");
    wf.filter(d.co, d.ci, w.e, w.n) =
        combine(w.n, f.g, type, [&](int k) { return filter_x(d.co, d.ci, w.e, k); });
    input_tiles(name, in, has_v, type, wf);
    // M = U V over input channels, for each of the (m+2)² points.
    RDom r(0, in_channels, name + "_r");
    wf.product = Func(name + "_product");
    const std::vector<Expr> at = args({d.c, w.e, w.n, w.tx, w.ty});
    wf.product(at) = Halide::cast(type, 0);
    wf.product(at) += wf.filter(d.c, r, w.e, w.n) * wf.input(args({r, w.e, w.n, w.tx, w.ty}));
    // Y = Aᵀ M A: along x, then y.
    wf.output_x = Func(name + "_output_x");
    wf.output_x(args({d.c, w.wx, w.n, w.tx, w.ty})) = combine(w.wx, f.at, type, [&](int k) {
        return wf.product(args({d.c, k, w.n, w.tx, w.ty}));
    });
    wf.output = Func(name + "_output");
    wf.output(args({d.c, w.wx, w.wy, w.tx, w.ty})) = combine(w.wy, f.at, type, [&](int k) {
        return wf.output_x(args({d.c, w.wx, k, w.tx, w.ty}));
    });
    Func conv(name);
    conv(args({d.c, d.x, d.y})) = wf.output(args({d.c, d.x % m, d.y % m, d.x / m, d.y / m}));
    return ConvStage{Func(), conv, r, out_channels, in_channels, 3, has_v, pad, algorithm, wf};
}

WeightGradStage weight_grad_winograd(const std::string &name, const Func &g, const Func &in,
                                     const Func &pad, int out_channels, int in_channels,
                                     const Frame &frame, bool has_v, int velocities,
                                     const Expr &batch, Type type, ConvAlgorithm algorithm) {
    const Dims &d = dims();
    const WinogradDims &w = winograd_dims();
    const int m = winograd_tile(algorithm);
    const Transforms &f = transforms(m);
    if (frame.width % m != 0) {
        throw std::invalid_argument(name + ": " + algorithm_name(algorithm) +
                                    " needs a width that " + std::to_string(m) + " divides");
    }
    WinogradFuncs wf;
    wf.tile = m;
    input_tiles(name, in, has_v, type, wf);
    // The output gradient, zero on the rows a partial last row of tiles adds.
    Func grad = g;
    if (frame.height % m != 0) {
        grad = Func(name + "_g_bounded");
        const Expr inside = g(with_batch({d.c, d.x, Halide::min(d.y, frame.height - 1)}, has_v));
        grad(with_batch({d.c, d.x, d.y}, has_v)) =
            Halide::select(d.y < frame.height, inside, Halide::Internal::make_zero(type));
    }
    // A g Aᵀ per (co, tile): the adjoint of the output transform.
    const Matrix a = transpose(f.at);
    wf.output_x = Func(name + "_output_x");
    wf.output_x(with_batch({d.c, w.e, w.wy, w.tx, w.ty}, has_v)) =
        combine(w.e, a, type, [&](int i) {
            return grad(with_batch({d.c, w.tx * m + i, w.ty * m + w.wy}, has_v));
        });
    wf.output = Func(name + "_output");
    wf.output(with_batch({d.c, w.e, w.n, w.tx, w.ty}, has_v)) = combine(w.n, a, type, [&](int j) {
        return wf.output_x(with_batch({d.c, w.e, j, w.tx, w.ty}, has_v));
    });
    // Their products summed over the tiles, for each transformed point (kx, ky here index the
    // (m+2)² points, so that the weight gradient's schedules apply as they are).
    const int tiles_x = frame.width / m, tiles_y = (frame.height + m - 1) / m;
    RDom r = has_v ? RDom(0, tiles_x, 0, tiles_y, 0, velocities, 0, batch, name + "_r")
                   : RDom(0, tiles_x, 0, tiles_y, 0, batch, name + "_r");
    auto at = [&](const Expr &c) {
        std::vector<Expr> p{c, d.kx, d.ky, r.x, r.y};
        if (has_v) p.push_back(r[2]);
        p.push_back(has_v ? r[3] : r[2]);
        return p;
    };
    Func dw(name + "_acc");
    dw(d.co, d.ci, d.kx, d.ky) = Halide::Internal::make_zero(type);
    dw(d.co, d.ci, d.kx, d.ky) += wf.output(at(d.co)) * wf.input(at(d.ci));
    wf.product = dw;
    // Gᵀ dw G, back to the 3×3 kernel.
    const Matrix gt = transpose(f.g);
    Func back_x(name + "_filter_x");
    back_x(d.co, d.ci, d.kx, w.n) =
        combine(d.kx, gt, type, [&](int e) { return dw(d.co, d.ci, e, w.n); });
    wf.filter = Func(name + "_filter");
    wf.filter(d.co, d.ci, d.kx, d.ky) =
        combine(d.ky, gt, type, [&](int n) { return back_x(d.co, d.ci, d.kx, n); });
    Func out(name);
    out(d.kx, d.ky, d.ci, d.co) = wf.filter(d.co, d.ci, d.kx, d.ky);
    return WeightGradStage{dw, out, r, out_channels, in_channels, 3, has_v, pad, algorithm, wf};
}

}  // namespace fernn::gen
