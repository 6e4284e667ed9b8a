// Translation flows on the torus: copy v with velocity (vx, vy) is rolled by (vy, vx) pixels
// each step, exactly torch.roll(h[:, v], shifts=(vy, vx), dims=(2, 3)):
//   moved(c, x, y, v, b) = h(c, (x - vx) mod W, (y - vy) mod H, v, b).
#include <stdexcept>

#include "flow.h"

namespace fernn::gen {

namespace {

class TranslationFlow : public FlowModule {
  public:
    TranslationFlow(const FlowSpec &spec, int width, int height)
        : width_(width),
          height_(height),
          table_(2, static_cast<int>(spec.velocities.size()), "velocity_table") {
        for (size_t i = 0; i < spec.velocities.size(); ++i) {
            table_(0, i) = spec.velocities[i][0];
            table_(1, i) = spec.velocities[i][1];
        }
    }

    Func move(const Func &h) const override { return shifted(h, -1, "moved"); }
    Func unmove(const Func &g) const override { return shifted(g, +1, "unmoved"); }
    bool commutes_with_convolution() const override { return true; }

  private:
    // sign -1: read from x - vx (move); +1: read from x + vx (its inverse).
    Func shifted(const Func &f, int sign, const std::string &name) const {
        const Dims &d = dims();
        // The velocity table is small and constant: Halide embeds it in the pipeline.
        const Expr vx = table_(0, d.v), vy = table_(1, d.v);
        Func out(f.name() + "_" + name);
        // Adding W before the modulo keeps small negative indices exact for Halide's
        // bounds inference; % is Euclidean anyway.
        out(d.c, d.x, d.y, d.v, d.b) = f(d.c, (d.x + sign * vx + width_) % width_,
                                         (d.y + sign * vy + height_) % height_, d.v, d.b);
        return out;
    }

    int width_, height_;
    Halide::Buffer<int> table_;
};

}  // namespace

std::unique_ptr<FlowModule> make_flow(const FlowSpec &spec, int width, int height) {
    if (spec.group == "translation") return std::make_unique<TranslationFlow>(spec, width, height);
    throw std::invalid_argument("no flow module for group " + spec.group);
}

}  // namespace fernn::gen
