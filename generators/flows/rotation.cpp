// Rotation flows (the reference's rotating_mnist_fp, escnn's C_N): copy v turns by θ_v degrees
// per step. Its hidden state holds fields of N orientation channels (channel f·N + n); the
// flow rolls the orientations by r_v = θ_v·N/360 and rotates the frame by θ_v about its centre
// c = (W−1)/2, counter-clockwise as displayed, sampling bilinearly with zeros outside
// (torch.roll, then grid_sample(align_corners=False, padding_mode='zeros')):
//   moved(f·N + n, x, y) = Σ_taps w · h(f·N + (n − r_v mod N), x_t, y_t)
// where the sample point of output pixel (x, y) is
//   (ix, iy) = (cos θ (x−c) − sin θ (y−c) + c,  sin θ (x−c) + cos θ (y−c) + c)
// and the taps are its four neighbours with bilinear weights. At multiples of 90° the weights
// are exactly 0 and 1: the flow is an exact permutation (torch.rot90). The moved state is
// materialized (rotations do not commute with the convolution) and conv_h pads it with zeros.
// Backward: d_moved = conv_h^T(d_pre); d_h_prev = move^T(d_moved), the transpose of the
// sampling written as a gather: source pixel q receives from the outputs whose sample point
// lies within one pixel of it, which lie within one pixel of q turned back by θ_v (a 3×3
// window), with the same bilinear (tent) weights; dW_h from d_pre and the moved state.
#include <stdexcept>

#include "generators/flows/flow.h"
#include "generators/flows/moved_state.h"
#include "generators/flows/registry.h"
#include "runtime/groups/turn.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

class RotationFlow : public FlowModule {
  public:
    explicit RotationFlow(const FlowSpec &spec) : orientations_(spec.orientations) {
        for (const auto &v : spec.velocities) {
            const Turn turn = turn_of_degrees(v[0]);  // exact at quarter turns
            cos_.push_back(turn.cos);
            sin_.push_back(turn.sin);
            roll_.push_back(orientation_roll(v[0], orientations_));
        }
    }

    ConvStage recurrent(const Func &h_prev, const Func &packed, const RecurrentShape &s,
                        Stages &stages) const override {
        return conv_of_moved(move(h_prev, "moved", s, stages), packed, s, Padding::Zeros,
                             stages.algorithms);
    }

    Gradients recurrent_backward(const Func &d_pre, const Func &h_prev, const Func &packed,
                                 const RecurrentShape &s, const std::string &w_h_grad,
                                 const std::vector<std::string> &, Stages &stages) const override {
        const Dims &d = dims();
        Gradients g;
        Func d_moved = conv_h_transposed(d_pre, packed, s, Padding::Zeros, stages);

        // move^T: gather from the outputs near q turned back by θ_v.
        const Expr cv = per_copy(cos_, s.type), sv = per_copy(sin_, s.type);
        const Expr centre = Halide::cast(s.type, Expr((s.frame.width - 1) / 2.0));
        const Expr qx = Halide::cast(s.type, d.x) - centre, qy = Halide::cast(s.type, d.y) - centre;
        const Expr px = Halide::cast<int>(Halide::round(cv * qx + sv * qy + centre));
        const Expr py = Halide::cast<int>(Halide::round(-sv * qx + cv * qy + centre));
        // Orientation n of h_prev went to n + r_v of the moved state.
        const Expr n = orientations_;
        const Expr channel = (d.c / n) * n + (d.c % n + roll()) % n;
        Expr sum = Halide::cast(s.type, 0);
        for (int dy = -1; dy <= 1; ++dy) {
            for (int dx = -1; dx <= 1; ++dx) {
                const Expr ox = px + dx, oy = py + dy;
                const Expr inside = ox >= 0 && ox < s.frame.width && oy >= 0 && oy < s.frame.height;
                Expr ix, iy;
                sample_point(ox, oy, s, ix, iy);
                const Expr w =
                    tent(ix - Halide::cast(s.type, d.x)) * tent(iy - Halide::cast(s.type, d.y));
                const Expr value = d_moved(channel, Halide::clamp(ox, 0, s.frame.width - 1),
                                           Halide::clamp(oy, 0, s.frame.height - 1), d.v, d.b);
                sum += Halide::select(inside, w * value, Halide::cast(s.type, 0));
            }
        }
        g.d_h_prev = Func(arg::d_h_prev);
        g.d_h_prev(d.c, d.x, d.y, d.v, d.b) = sum;
        stages.roots.push_back({g.d_h_prev, RootStage::Hidden, s.channels});

        // conv_h's weight gradient reads the moved state, recomputed here.
        g.d_w_h = conv_h_weight_grad(w_h_grad, d_pre, move(h_prev, "moved", s, stages), s,
                                     Padding::Zeros, stages);
        return g;
    }

  private:
    // A per-copy constant as a select over the copies (Halide then knows its few values).
    Expr per_copy(const std::vector<double> &values, Type type) const {
        if (values.size() == 1) return Halide::cast(type, Expr(values[0]));
        std::vector<Expr> choices;
        for (double v : values) choices.push_back(Halide::cast(type, Expr(v)));
        return Halide::mux(dims().v, choices);
    }
    Expr roll() const {
        if (roll_.size() == 1) return Expr(roll_[0]);
        std::vector<Expr> choices(roll_.begin(), roll_.end());
        return Halide::mux(dims().v, choices);
    }
    static Expr tent(const Expr &u) {
        return Halide::max(Halide::cast(u.type(), 0), Halide::cast(u.type(), 1) - Halide::abs(u));
    }

    // Where output pixel (x, y) of copy v samples its source.
    void sample_point(const Expr &x, const Expr &y, const RecurrentShape &s, Expr &ix,
                      Expr &iy) const {
        const Expr cv = per_copy(cos_, s.type), sv = per_copy(sin_, s.type);
        const Expr centre = Halide::cast(s.type, Expr((s.frame.width - 1) / 2.0));
        const Expr xc = Halide::cast(s.type, x) - centre, yc = Halide::cast(s.type, y) - centre;
        ix = cv * xc - sv * yc + centre;
        iy = sv * xc + cv * yc + centre;
    }

    // The flow of every copy, materialized: roll, then bilinear rotation with zeros outside.
    Func move(const Func &h, const std::string &name, const RecurrentShape &s,
              Stages &stages) const {
        const Dims &d = dims();
        Expr ix, iy;
        sample_point(d.x, d.y, s, ix, iy);
        const Expr fx = Halide::floor(ix), fy = Halide::floor(iy);
        const Expr ax = ix - fx, ay = iy - fy;
        const Expr x0 = Halide::cast<int>(fx), y0 = Halide::cast<int>(fy);
        const Expr n = orientations_;
        const Expr channel = (d.c / n) * n + (d.c % n - roll() + n) % n;
        const Expr one = Halide::cast(s.type, 1), zero = Halide::cast(s.type, 0);
        auto tap = [&](const Expr &x, const Expr &y, const Expr &w) {
            const Expr inside = x >= 0 && x < s.frame.width && y >= 0 && y < s.frame.height;
            const Expr value = h(channel, Halide::clamp(x, 0, s.frame.width - 1),
                                 Halide::clamp(y, 0, s.frame.height - 1), d.v, d.b);
            return Halide::select(inside, w * value, zero);
        };
        Func moved(name);
        moved(d.c, d.x, d.y, d.v, d.b) =
            tap(x0, y0, (one - ax) * (one - ay)) + tap(x0 + 1, y0, ax * (one - ay)) +
            tap(x0, y0 + 1, (one - ax) * ay) + tap(x0 + 1, y0 + 1, ax * ay);
        stages.roots.push_back({moved, RootStage::Hidden, s.channels});
        return moved;
    }

    int orientations_;
    std::vector<double> cos_, sin_;
    std::vector<int> roll_;
};

}  // namespace

std::unique_ptr<FlowModule> make_rotation_flow(const FlowSpec &spec, const std::vector<Func> &) {
    return std::make_unique<RotationFlow>(spec);
}

}  // namespace fernn::gen
