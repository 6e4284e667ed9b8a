// Translation flows on the torus: copy v with velocity (vx, vy) is rolled by (vy, vx) pixels
// each step, exactly torch.roll(h[:, v], shifts=(vy, vx), dims=(2, 3)):
//   moved(c, x, y, v, b) = h(c, (x - vx) mod W, (y - vy) mod H, v, b),
// read from h's circular extension as h_ext(c, x - vx, y - vy, v, b): a constant offset per
// copy, folded into conv_h's indexing (no moved copy is ever materialized). In the backward
// the inverse shift folds into the transposed convolution the same way, because translations
// commute with circular convolutions.
#include <algorithm>
#include <cstdlib>

#include "generators/flows/flow.h"
#include "generators/flows/registry.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

class TranslationFlow : public FlowModule {
  public:
    explicit TranslationFlow(const FlowSpec &spec) {
        for (const auto &v : spec.velocities) {
            vx_.push_back(v[0]);
            vy_.push_back(v[1]);
        }
    }

    ConvStage recurrent(const Func &h_prev, const Func &packed, const RecurrentShape &s,
                        Stages &stages) const override {
        Func padded = circular_pad("h_prev_padded", h_prev, s.frame, true);
        return correlate("conv_h", shifted(padded, -1, "moved"), padded, packed, s.channels,
                         s.channels, s.kernel, true, s.type, stages.algorithms);
    }

    Gradients recurrent_backward(const Func &d_pre, const Func &h_prev, const Func &packed,
                                 const RecurrentShape &s, const std::string &w_h_grad,
                                 const std::vector<std::string> &, Stages &stages) const override {
        const Dims &d = dims();
        Gradients g;
        // d h_prev = move^T(conv_h^T(d_pre)) = conv_h^T(move^T(d_pre)).
        Func adjoint = adjoint_weights(packed, s.kernel, "conv_h_adjoint");
        stages.roots.push_back({adjoint, RootStage::Weights, s.channels});
        Func d_pre_padded = circular_pad("d_pre_padded", d_pre, s.frame, true);
        ConvStage back =
            correlate("conv_h_t", shifted(d_pre_padded, +1, "unmoved"), d_pre_padded, adjoint,
                      s.channels, s.channels, s.kernel, true, s.type, stages.algorithms);
        g.d_h_prev = Func(arg::d_h_prev);
        g.d_h_prev(d.c, d.x, d.y, d.v, d.b) = back.conv(d.c, d.x, d.y, d.v, d.b);
        back.owner = g.d_h_prev;
        stages.convs.push_back(back);

        Func h_prev_padded = circular_pad("h_prev_padded", h_prev, s.frame, true);
        WeightGradStage wh = weight_grad(w_h_grad, d_pre, shifted(h_prev_padded, -1, "moved"),
                                         h_prev_padded, s.channels, s.channels, s.kernel, s.frame,
                                         true, s.copies, s.batch, s.type, stages.algorithms);
        stages.weight_grads.push_back(wh);
        g.d_w_h = wh.out;
        return g;
    }

  private:
    // The velocity of copy v as a select over the (few) velocities: Halide then knows its
    // range, so bounds inference sizes the padded input exactly.
    static Expr component(const std::vector<int> &values) {
        if (values.size() == 1) return Expr(values[0]);
        std::vector<Expr> choices(values.begin(), values.end());
        return Halide::mux(dims().v, choices);
    }

    // sign -1: read from x - vx (move); +1: read from x + vx (its inverse).
    Func shifted(const Func &f, int sign, const std::string &name) const {
        const Dims &d = dims();
        Func out(f.name() + "_" + name);
        out(d.c, d.x, d.y, d.v, d.b) =
            f(d.c, d.x + sign * component(vx_), d.y + sign * component(vy_), d.v, d.b);
        return out;
    }

    std::vector<int> vx_, vy_;
};

}  // namespace

std::unique_ptr<FlowModule> make_translation_flow(const FlowSpec &spec, const std::vector<Func> &) {
    return std::make_unique<TranslationFlow>(spec);
}

}  // namespace fernn::gen
