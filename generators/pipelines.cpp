#include "generators/pipelines.h"

#include "generators/flow.h"
#include "generators/loss.h"
#include "generators/optimizer_pipelines.h"
#include "generators/readout.h"
#include "generators/recurrence.h"
#include "generators/tensors.h"

namespace fernn::gen {

namespace {

// The name a Func was given, without the "$n" Halide appends when a process defines that name
// again: the manifest's argument names must not depend on what else the process built.
std::string base_name(const Func &f) {
    const std::string n = f.name();
    return n.substr(0, n.find('$'));
}

// Collects a pipeline's arguments and outputs with their descriptions, in call order.
class Builder {
  public:
    Builder(const Spec &spec, Type type, std::string name)
        : spec_(spec), type_(type), shape_(shape_of(spec)) {
        def_.name = std::move(name);
    }

    Func frame(const std::string &name, int channels) {
        Halide::ImageParam p = frame_input(name, type_, channels, shape_);
        add_input(p, {name, "frame", channels, ""});
        if (!batch_.defined()) batch_ = p.dim(3).extent();
        return p;
    }
    Func hidden(const std::string &name) {
        Halide::ImageParam p = hidden_input(name, type_, shape_);
        add_input(p, {name, "hidden", spec_.hidden, ""});
        if (!batch_.defined()) batch_ = p.dim(4).extent();
        return p;
    }
    Func weight(const ParamInfo &param) {
        Halide::ImageParam p = weight_input(param, type_);
        add_input(p, {argument_name(param.name), "weight", 0, param.name});
        return p;
    }
    Expr scalar(const std::string &name) {
        Halide::Param<> p(type_, name);
        def_.args.push_back(p);
        def_.scalars.push_back(p);
        def_.inputs.push_back({name, "scalar", 0, ""});
        return p;
    }

    void frame_output(Func f, int channels) {
        constrain_frame_output(f, channels, shape_);
        add_output(f, {base_name(f), "frame", channels, ""});
    }
    void hidden_output(Func f) {
        constrain_hidden_output(f, shape_);
        add_output(f, {base_name(f), "hidden", spec_.hidden, ""});
    }
    void weight_output(Func f, const ParamInfo &param) {
        constrain_weight_output(f, param);
        add_output(f, {base_name(f), "weight", 0, param.name});
    }
    void scalar_output(Func f) { add_output(f, {base_name(f), "scalar", 0, ""}); }

    const Expr &batch() const { return batch_; }
    Stages &stages() { return def_.stages; }
    PipelineDef finish() { return std::move(def_); }

  private:
    void add_input(const Halide::ImageParam &p, TensorDesc desc) {
        def_.args.push_back(p);
        def_.images.push_back(p);
        def_.inputs.push_back(std::move(desc));
    }
    void add_output(const Func &f, TensorDesc desc) {
        def_.funcs.push_back(f);
        def_.outputs.push_back(std::move(desc));
    }

    const Spec &spec_;
    Type type_;
    Shape shape_;
    Expr batch_;
    PipelineDef def_;
};

// first: the step from the zero initial state (no h_prev input; conv_h's weight is still an
// argument, unused, so that every cell pipeline binds the same weights).
PipelineDef cell_forward_pipeline(const Spec &spec, Type type, bool first) {
    Builder p(spec, type, first ? "cell_forward_first" : "cell_forward");
    const auto params = spec.parameters();
    Func u = p.frame("u", spec.in_channels);
    Func h_prev = first ? Func() : p.hidden("h_prev");
    CellWeights w{p.weight(params[0]), p.weight(params[1])};
    auto flow = make_flow(spec.flow);
    Func h_next = cell_forward(spec, *flow, u, h_prev, w, type, p.stages());
    p.hidden_output(h_next);
    return p.finish();
}

PipelineDef cell_backward_pipeline(const Spec &spec, Type type, bool first) {
    Builder p(spec, type, first ? "cell_backward_first" : "cell_backward");
    const auto params = spec.parameters();
    Func u = p.frame("u", spec.in_channels);
    Func h_prev = first ? Func() : p.hidden("h_prev");
    Func h_next = p.hidden("h_next");
    Func d_h_next = p.hidden("d_h_next");
    CellWeights w{p.weight(params[0]), p.weight(params[1])};
    auto flow = make_flow(spec.flow);
    CellGradients g =
        cell_backward(spec, *flow, u, h_prev, h_next, d_h_next, w, p.batch(), type, p.stages());
    if (!first) p.hidden_output(g.d_h_prev);
    p.weight_output(g.d_w_u, params[0]);
    p.weight_output(g.d_w_h, params[1]);
    return p.finish();
}

std::vector<Func> decoder_weights(Builder &p, const Spec &spec) {
    std::vector<Func> w;
    const auto params = spec.parameters();
    for (size_t i = 2; i < params.size(); ++i) w.push_back(p.weight(params[i]));
    return w;
}

PipelineDef readout_forward_pipeline(const Spec &spec, Type type) {
    Builder p(spec, type, "readout_forward");
    Func h = p.hidden("h");
    std::vector<Func> w = decoder_weights(p, spec);
    ReadoutForward r = readout_forward(spec, h, w, type, p.stages());
    p.frame_output(r.pred, spec.out_channels);
    p.frame_output(r.feat, spec.hidden);
    for (Func &a : r.acts) p.frame_output(a, spec.hidden);
    return p.finish();
}

PipelineDef readout_backward_pipeline(const Spec &spec, Type type) {
    Builder p(spec, type, "readout_backward");
    Func h = p.hidden("h");
    Func feat = p.frame("feat", spec.hidden);
    std::vector<Func> acts;
    for (int i = 0; i < spec.dec_layers; ++i)
        acts.push_back(p.frame("act_" + std::to_string(i), spec.hidden));
    Func pred = p.frame("pred", spec.out_channels);
    Func target = p.frame("target", spec.out_channels);
    Func carry = p.hidden("d_h_carry");
    Expr scale = p.scalar("grad_scale");
    std::vector<Func> w = decoder_weights(p, spec);
    Func d_pred = mse_gradient(pred, target, scale);
    p.stages().roots.push_back({d_pred, RootStage::Frame, spec.out_channels});
    ReadoutBackward r =
        readout_backward(spec, h, feat, acts, d_pred, carry, w, p.batch(), type, p.stages());
    p.hidden_output(r.d_h);
    const auto params = spec.parameters();
    for (size_t i = 0; i < r.d_w.size(); ++i) p.weight_output(r.d_w[i], params[2 + i]);
    return p.finish();
}

PipelineDef frame_loss_pipeline(const Spec &spec, Type type) {
    Builder p(spec, type, "frame_loss");
    Func pred = p.frame("pred", spec.out_channels);
    Func target = p.frame("target", spec.out_channels);
    Func sse = sum_squared_error(pred, target, spec.out_channels, spec.width, spec.height,
                                 p.batch(), type, p.stages());
    p.scalar_output(sse);
    return p.finish();
}

}  // namespace

const std::vector<std::string> &pipeline_names() {
    static const std::vector<std::string> names{
        "cell_forward",    "cell_forward_first", "cell_backward", "cell_backward_first",
        "readout_forward", "readout_backward",   "frame_loss",    "grad_accumulate",
        "fill_zero",       "optimizer_step"};
    return names;
}

PipelineDef build_pipeline(const Spec &spec, Type type, const std::string &name) {
    if (name == "cell_forward") return cell_forward_pipeline(spec, type, false);
    if (name == "cell_forward_first") return cell_forward_pipeline(spec, type, true);
    if (name == "cell_backward") return cell_backward_pipeline(spec, type, false);
    if (name == "cell_backward_first") return cell_backward_pipeline(spec, type, true);
    if (name == "readout_forward") return readout_forward_pipeline(spec, type);
    if (name == "readout_backward") return readout_backward_pipeline(spec, type);
    if (name == "frame_loss") return frame_loss_pipeline(spec, type);
    if (name == "grad_accumulate") return grad_accumulate_pipeline(type);
    if (name == "fill_zero") return fill_zero_pipeline(type);
    if (name == "optimizer_step") return optimizer_step_pipeline(type);
    throw std::invalid_argument("no pipeline named " + name);
}

}  // namespace fernn::gen
