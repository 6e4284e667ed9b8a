// Translation flows on the torus: copy v with velocity (vx, vy) is rolled by (vy, vx) pixels
// each step, exactly torch.roll(h[:, v], shifts=(vy, vx), dims=(2, 3)):
//   moved(c, x, y, v, b) = h(c, (x - vx) mod W, (y - vy) mod H, v, b),
// read here from h's circular extension as h_ext(c, x - vx, y - vy, v, b).
#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "generators/flow.h"

namespace fernn::gen {

namespace {

class TranslationFlow : public FlowModule {
  public:
    TranslationFlow(const FlowSpec &spec) {
        for (const auto &v : spec.velocities) {
            vx_.push_back(v[0]);
            vy_.push_back(v[1]);
            reach_ = std::max({reach_, std::abs(v[0]), std::abs(v[1])});
        }
    }

    Func move(const Func &h) const override { return shifted(h, -1, "moved"); }
    Func unmove(const Func &g) const override { return shifted(g, +1, "unmoved"); }
    bool commutes_with_convolution() const override { return true; }
    int reach() const override { return reach_; }

  private:
    // The velocity of copy v as a select over the (few) velocities: Halide then knows its
    // range, so bounds inference sizes the padded input exactly.
    static Expr component(const std::vector<int> &values) {
        const Dims &d = dims();
        if (values.size() == 1) return Expr(values[0]);
        std::vector<Expr> choices(values.begin(), values.end());
        return Halide::mux(d.v, choices);
    }

    // sign -1: read from x - vx (move); +1: read from x + vx (its inverse). A constant offset
    // per copy: with the input circularly extended there is nothing to wrap.
    Func shifted(const Func &f, int sign, const std::string &name) const {
        const Dims &d = dims();
        Func out(f.name() + "_" + name);
        out(d.c, d.x, d.y, d.v, d.b) =
            f(d.c, d.x + sign * component(vx_), d.y + sign * component(vy_), d.v, d.b);
        return out;
    }

    std::vector<int> vx_, vy_;
    int reach_ = 0;
};

}  // namespace

std::unique_ptr<FlowModule> make_flow(const FlowSpec &spec) {
    if (spec.group == "translation") return std::make_unique<TranslationFlow>(spec);
    throw std::invalid_argument("no flow module for group " + spec.group);
}

}  // namespace fernn::gen
