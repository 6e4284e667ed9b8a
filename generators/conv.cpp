#include "generators/conv.h"

#include <stdexcept>

#include "generators/winograd.h"

namespace fernn::gen {

const char *algorithm_name(ConvAlgorithm a) {
    switch (a) {
        case ConvAlgorithm::Direct:
            return "direct";
        case ConvAlgorithm::Winograd2:
            return "winograd2";
        case ConvAlgorithm::Winograd4:
            return "winograd4";
    }
    return "direct";
}

bool algorithm_from_name(const std::string &name, ConvAlgorithm &a) {
    for (ConvAlgorithm c :
         {ConvAlgorithm::Direct, ConvAlgorithm::Winograd2, ConvAlgorithm::Winograd4}) {
        if (name == algorithm_name(c)) {
            a = c;
            return true;
        }
    }
    return false;
}

int winograd_tile(ConvAlgorithm a) {
    return a == ConvAlgorithm::Winograd2 ? 2 : a == ConvAlgorithm::Winograd4 ? 4 : 1;
}

const Dims &dims() {
    static const Dims d;
    return d;
}

Func pack_weights(const Func &oihw, const std::string &name) {
    const Dims &d = dims();
    Func packed(name);
    packed(d.co, d.ci, d.kx, d.ky) = oihw(d.kx, d.ky, d.ci, d.co);
    return packed;
}

Func adjoint_weights(const Func &packed, int kernel, const std::string &name) {
    const Dims &d = dims();
    Func t(name);
    t(d.co, d.ci, d.kx, d.ky) = packed(d.ci, d.co, kernel - 1 - d.kx, kernel - 1 - d.ky);
    return t;
}

namespace {

// The stage's algorithm; Winograd only for the 3×3 kernels it is defined for.
ConvAlgorithm algorithm_of(const AlgorithmChoice &choice, const std::string &name, int kernel) {
    const ConvAlgorithm a = choice.of(name);
    if (a != ConvAlgorithm::Direct && kernel != 3) {
        throw std::invalid_argument(name + ": " + algorithm_name(a) + " needs a 3x3 kernel, not " +
                                    std::to_string(kernel));
    }
    return a;
}

std::vector<Expr> point(const Expr &c, const Expr &x, const Expr &y, bool has_v) {
    const Dims &d = dims();
    if (has_v) return {c, x, y, d.v, d.b};
    return {c, x, y, d.b};
}

}  // namespace

Func circular_pad(const std::string &name, const Func &in, const Frame &frame, bool has_v) {
    const Dims &d = dims();
    Func padded(name);
    // % is Euclidean in Halide: the wrapped index is in [0, n) for negative x too.
    const Expr x = frame.width == 1 ? Expr(0) : d.x % frame.width;
    const Expr y = frame.height == 1 ? Expr(0) : d.y % frame.height;
    padded(point(d.c, d.x, d.y, has_v)) = in(point(d.c, x, y, has_v));
    return padded;
}

Padding padding_from(const std::string &spec_value) {
    return spec_value == "zeros" ? Padding::Zeros : Padding::Circular;
}

Func pad(const std::string &name, const Func &in, const Frame &frame, bool has_v, Padding padding) {
    if (padding == Padding::Circular) return circular_pad(name, in, frame, has_v);
    const Dims &d = dims();
    Func padded(name);
    const Expr inside = d.x >= 0 && d.x < frame.width && d.y >= 0 && d.y < frame.height;
    const Expr x = Halide::clamp(d.x, 0, frame.width - 1),
               y = Halide::clamp(d.y, 0, frame.height - 1);
    const Expr value = in(point(d.c, x, y, has_v));
    padded(point(d.c, d.x, d.y, has_v)) =
        Halide::select(inside, value, Halide::cast(value.type(), 0));
    return padded;
}

ConvStage correlate(const std::string &name, const Func &in, const Func &pad, const Func &packed,
                    int in_channels, int out_channels, int kernel, bool has_v, Type type,
                    const AlgorithmChoice &choice) {
    const ConvAlgorithm algorithm = algorithm_of(choice, name, kernel);
    if (algorithm != ConvAlgorithm::Direct) {
        return correlate_winograd(name, in, pad, packed, in_channels, out_channels, has_v, type,
                                  algorithm);
    }
    const Dims &d = dims();
    const int half = kernel / 2;
    // ci innermost: the reduction walks input channels contiguously while the schedule keeps
    // a tile of output channels × pixels in registers.
    RDom r(0, in_channels, 0, kernel, 0, kernel, name + "_r");
    Func conv(name);
    const std::vector<Expr> at = point(d.c, d.x, d.y, has_v);
    conv(at) = Halide::cast(type, 0);
    conv(at) +=
        packed(d.c, r.x, r.y, r.z) * in(point(r.x, d.x + r.y - half, d.y + r.z - half, has_v));
    return ConvStage{Func(), conv,  r,   out_channels,          in_channels,
                     kernel, has_v, pad, ConvAlgorithm::Direct, {}};
}

WeightGradStage weight_grad(const std::string &name, const Func &g, const Func &in, const Func &pad,
                            int out_channels, int in_channels, int kernel, const Frame &frame,
                            bool has_v, int velocities, const Expr &batch, Type type,
                            const AlgorithmChoice &choice) {
    const ConvAlgorithm algorithm = algorithm_of(choice, name, kernel);
    if (algorithm != ConvAlgorithm::Direct) {
        return weight_grad_winograd(name, g, in, pad, out_channels, in_channels, frame, has_v,
                                    velocities, batch, type, algorithm);
    }
    const Dims &d = dims();
    const int half = kernel / 2;
    RDom r = has_v ? RDom(0, frame.width, 0, frame.height, 0, velocities, 0, batch, name + "_r")
                   : RDom(0, frame.width, 0, frame.height, 0, batch, name + "_r");
    const Expr rv = has_v ? Expr(r[2]) : Expr();
    const Expr rb = has_v ? r[3] : r[2];
    auto at = [&](const Expr &c, const Expr &x, const Expr &y) {
        if (has_v) return std::vector<Expr>{c, x, y, rv, rb};
        return std::vector<Expr>{c, x, y, rb};
    };
    Func dw(name + "_acc");
    dw(d.co, d.ci, d.kx, d.ky) = Halide::cast(type, 0);
    dw(d.co, d.ci, d.kx, d.ky) +=
        g(at(d.co, r.x, r.y)) * in(at(d.ci, r.x + d.kx - half, r.y + d.ky - half));
    Func out(name);
    out(d.kx, d.ky, d.ci, d.co) = dw(d.co, d.ci, d.kx, d.ky);
    return WeightGradStage{dw,     out,   r,   out_channels,          in_channels,
                           kernel, has_v, pad, ConvAlgorithm::Direct, {}};
}

}  // namespace fernn::gen
