// Flow modules: how each copy v of a layer's hidden state is moved by its flow ψ_1(v) inside
// the recurrent term conv_h(move_v(h)), forward and backward. A flow group is one module in
// this folder and one entry in make_flow's table; the cell only sees this interface.
#pragma once

#include <memory>
#include <vector>

#include "generators/conv.h"
#include "runtime/spec/flow_spec.h"

namespace fernn::gen {

// The recurrent convolution of one layer: C channels in and out, k×k, over every copy.
struct RecurrentShape {
    int channels, kernel, copies;
    Frame frame;
    Expr batch;
    Type type;
};

class FlowModule {
  public:
    virtual ~FlowModule() = default;

    // conv_h(move_v(h_prev)) as a ConvStage named "conv_h" whose owner the caller sets.
    // `packed`: conv_h's weight as pack_weights gives it.
    virtual ConvStage recurrent(const Func &h_prev, const Func &packed, const RecurrentShape &s,
                                Stages &stages) const = 0;

    struct Gradients {
        Func d_h_prev;               // named arg::d_h_prev
        Func d_w_h;                  // conv_h's weight gradient, OIHW, named `w_h_grad`
        std::vector<Func> d_params;  // the flow's own parameters, named `param_grads`
    };
    // The adjoint of the recurrent term, given d_pre = dL/d(pre-activation).
    virtual Gradients recurrent_backward(const Func &d_pre, const Func &h_prev, const Func &packed,
                                         const RecurrentShape &s, const std::string &w_h_grad,
                                         const std::vector<std::string> &param_grads,
                                         Stages &stages) const = 0;
};

// The flow's parameters are the Funcs of its plan parameters, in plan order (none for
// translations).
std::unique_ptr<FlowModule> make_flow(const FlowSpec &spec, const std::vector<Func> &params);

}  // namespace fernn::gen
