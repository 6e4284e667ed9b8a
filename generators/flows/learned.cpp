// Learned flows (G-RNN+, the reference's GRNN_Plus): copy v is moved by its own learned k×k
// filter K_v, a circular correlation applied to every channel alike (a grouped conv over the
// copies, shared over channels and batch):
//   moved(c, x, y, v, b) = Σ_{kx,ky} K(v, 0, ky, kx) · h(c, x + kx - p, y + ky - p, v, b)  (mod W,
//   H)
// The moved state is materialized once (conv_h reads it k² times). Backward:
//   d_moved = conv_h^T(d_pre), d_h_prev = K_v^T(d_moved), dW_h from d_pre and moved,
//   dK(v, 0, ky, kx) = Σ_{c,x,y,b} d_moved(c, x, y, v, b) · h_ext(c, x + kx - p, y + ky - p, v, b).
#include <stdexcept>

#include "generators/flows/flow.h"
#include "generators/flows/moved_state.h"
#include "generators/flows/registry.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

class LearnedFlow : public FlowModule {
  public:
    LearnedFlow(const FlowSpec &spec, const std::vector<Func> &params)
        : kernel_(spec.learned_kernel) {
        if (params.size() != 1) throw std::logic_error("learned flow: one parameter expected");
        filters_ = params[0];  // Halide dims (kx, ky, 0, copy): OIHW (copies, 1, k, k)
    }

    ConvStage recurrent(const Func &h_prev, const Func &packed, const RecurrentShape &s,
                        Stages &stages) const override {
        return conv_of_moved(move(h_prev, "moved", s, stages), packed, s, Padding::Circular,
                             stages.algorithms);
    }

    Gradients recurrent_backward(const Func &d_pre, const Func &h_prev, const Func &packed,
                                 const RecurrentShape &s, const std::string &w_h_grad,
                                 const std::vector<std::string> &param_grads,
                                 Stages &stages) const override {
        const Dims &d = dims();
        Gradients g;
        Func d_moved = conv_h_transposed(d_pre, packed, s, Padding::Circular, stages);

        // The adjoint of the correlation with K_v: the correlation with K_v flipped.
        const int p = kernel_ / 2;
        Func d_moved_padded = circular_pad("d_moved_padded", d_moved, s.frame, true);
        RDom rk(0, kernel_, 0, kernel_, "unmove_r");
        g.d_h_prev = Func(arg::d_h_prev);
        g.d_h_prev(d.c, d.x, d.y, d.v, d.b) = Halide::cast(s.type, 0);
        g.d_h_prev(d.c, d.x, d.y, d.v, d.b) +=
            filters_(kernel_ - 1 - rk.x, kernel_ - 1 - rk.y, 0, d.v) *
            d_moved_padded(d.c, d.x + rk.x - p, d.y + rk.y - p, d.v, d.b);
        stages.roots.push_back({g.d_h_prev, RootStage::Hidden, s.channels});

        // conv_h's weight gradient reads the moved state, recomputed here.
        g.d_w_h = conv_h_weight_grad(w_h_grad, d_pre, move(h_prev, "moved", s, stages), s,
                                     Padding::Circular, stages);

        // dK per channel (vectorized over channels, parallel over taps and copies), then summed
        // over channels.
        Func h_padded = circular_pad("h_prev_padded", h_prev, s.frame, true);
        RDom r(0, s.frame.width, 0, s.frame.height, 0, s.batch, "learned_grad_r");
        Func per_channel("learned_grad_per_channel");
        per_channel(d.c, d.kx, d.ky, d.v) = Halide::cast(s.type, 0);
        per_channel(d.c, d.kx, d.ky, d.v) +=
            d_moved(d.c, r.x, r.y, d.v, r.z) *
            h_padded(d.c, r.x + d.kx - p, r.y + d.ky - p, d.v, r.z);
        stages.roots.push_back({per_channel, RootStage::Small, s.channels});
        RDom rc(0, s.channels, "learned_grad_rc");
        Func dk(param_grads.at(0));
        dk(d.kx, d.ky, d.ci, d.co) = Halide::cast(s.type, 0);
        dk(d.kx, d.ky, d.ci, d.co) += per_channel(rc, d.kx, d.ky, d.co);
        stages.roots.push_back({dk, RootStage::Small, 1});
        g.d_params.push_back(dk);
        return g;
    }

  private:
    // The correlation of each copy with its filter, materialized.
    Func move(const Func &h, const std::string &name, const RecurrentShape &s,
              Stages &stages) const {
        const Dims &d = dims();
        const int p = kernel_ / 2;
        Func padded = circular_pad(name + "_source", h, s.frame, true);
        RDom rk(0, kernel_, 0, kernel_, name + "_r");
        Func moved(name);
        moved(d.c, d.x, d.y, d.v, d.b) = Halide::cast(s.type, 0);
        moved(d.c, d.x, d.y, d.v, d.b) +=
            filters_(rk.x, rk.y, 0, d.v) * padded(d.c, d.x + rk.x - p, d.y + rk.y - p, d.v, d.b);
        stages.roots.push_back({moved, RootStage::Hidden, s.channels});
        return moved;
    }

    int kernel_;
    Func filters_;
};

}  // namespace

std::unique_ptr<FlowModule> make_learned_flow(const FlowSpec &spec,
                                              const std::vector<Func> &params) {
    return std::make_unique<LearnedFlow>(spec, params);
}

}  // namespace fernn::gen
