#include "runtime/plan/plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "runtime/groups/cyclic_basis.h"
#include "runtime/plan/arguments.h"
#include "runtime/plan/naming.h"

namespace fernn {

namespace {

constexpr std::array<const char *, kOpCount> kOpNames{"forward",
                                                      "forward_eval",
                                                      "backward",
                                                      "forward",
                                                      "forward_first",
                                                      "backward",
                                                      "backward_first",
                                                      "readout_forward",
                                                      "readout_backward",
                                                      "frame_loss",
                                                      "frame_loss_gradient",
                                                      "pool_forward",
                                                      "pool_backward",
                                                      "classifier_forward",
                                                      "classifier_backward",
                                                      "grad_accumulate",
                                                      "fill_zero",
                                                      "optimizer_step"};
static_assert(kOpNames.size() == size_t(kOpCount), "one name per Op");
static_assert(int(Op::OptimizerStep) + 1 == kOpCount, "kOpCount counts every Op");

int64_t product(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

// PyTorch's Conv2d/Linear default: kaiming_uniform_(a=sqrt(5)) gives U(-b, b) with
// b = 1/sqrt(fan_in); a Linear bias uses the same bound.
Init uniform_fan_in(int64_t fan_in) {
    return Init{Init::Uniform, 1.0 / std::sqrt(double(fan_in)), {}};
}

class PlanBuilder {
  public:
    explicit PlanBuilder(const Spec &spec) : spec_(spec), naming_(naming_for(spec)) {
        plan_.geometry = Geometry{spec.input.height, spec.input.width, spec.copies()};
    }

    ModelPlan build() {
        const int layers = spec_.layers();
        plan_.layer_inputs.assign(layers, -1);
        plan_.cells.assign(layers, -1);
        lifting();
        flow();  // its parameters are read by every cell
        for (int l = 0; l < layers; ++l) {
            if (l > 0) layer_input(l);
            cell(l);
        }
        head();
        optimizer();
        return std::move(plan_);
    }

  private:
    static int64_t aligned(int64_t offset) {
        return (offset + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
    }
    int add_param(const std::string &name, std::vector<int64_t> shape, Init init) {
        ParamInfo p{name, std::move(shape), init, next_param_};
        next_param_ = aligned(next_param_ + p.numel());
        plan_.params.push_back(p);
        return int(plan_.params.size()) - 1;
    }
    int add_buffer(const std::string &name, std::vector<int64_t> shape, Init init) {
        BufferInfo b{name, std::move(shape), init, next_buffer_};
        next_buffer_ = aligned(next_buffer_ + b.numel());
        plan_.buffers.push_back(b);
        return int(plan_.buffers.size()) - 1;
    }
    int add_constant(const std::string &name, std::vector<int64_t> shape,
                     std::vector<float> values, double tolerance) {
        ConstantInfo c{name, std::move(shape), std::move(values), next_constant_, tolerance};
        next_constant_ = aligned(next_constant_ + c.numel());
        plan_.constants.push_back(std::move(c));
        return int(plan_.constants.size()) - 1;
    }
    // A C_N-steerable conv (escnn's R2Conv) from `fields_in` fields of kind `in` to
    // `fields_out` regular fields: its weights (a parameter, added to `block`), its sampled
    // basis (a constant) and its expanded filter (derived, for checkpoints).
    SteerableConv steerable_conv(int block, const std::string &module, FieldKind in,
                                 int fields_in, int fields_out, int kernel, int &weight) {
        const int n = spec_.flow.orientations;
        const SteerableBasis basis = cyclic_steerable_basis(n, kernel, in);
        SteerableConv s;
        s.fields_in = fields_in;
        s.fields_out = fields_out;
        weight = add_param(module + ".weights",
                           {int64_t(fields_out) * fields_in * basis.elements},
                           Init{Init::Normal, 1.0, steerable_init_std(basis, fields_in)});
        plan_.blocks[block].params.push_back(weight);
        std::vector<float> values(basis.values.begin(), basis.values.end());
        // escnn samples in float32: its copy differs from this float64 one by ~1e-7.
        s.basis = add_constant(steerable_basis_name(module, in),
                               {basis.elements, basis.out_size, basis.in_size, kernel * kernel},
                               std::move(values), 1e-5);
        plan_.derived.push_back(DerivedInfo{module + ".filter",
                                            {int64_t(fields_out) * n,
                                             int64_t(fields_in) * basis.in_size, kernel, kernel},
                                            weight, s.basis, fields_out, fields_in});
        return s;
    }
    int add_block(BlockKind kind, int layer, std::string name) {
        Block b;
        b.kind = kind;
        b.layer = layer;
        b.name = std::move(name);
        plan_.blocks.push_back(b);
        return int(plan_.blocks.size()) - 1;
    }

    // Signatures are made through Sig: arguments by source, then added to a block.
    struct Sig {
        PipelineSignature s;
        Sig &in(const std::string &name, TensorType t) {
            s.inputs.push_back({name, std::move(t), Source::Data, -1});
            return *this;
        }
        Sig &out(const std::string &name, TensorType t) {
            s.outputs.push_back({name, std::move(t), Source::Data, -1});
            return *this;
        }
    };
    Sig sig(Op op) {
        Sig s;
        s.s.op = op;
        return s;
    }
    void param_in(Sig &s, int p) {
        const ParamInfo &info = plan_.params[p];
        s.s.inputs.push_back({info.argument(), TensorType::fixed(info.shape), Source::Param, p});
    }
    void constant_in(Sig &s, int c) {
        const ConstantInfo &info = plan_.constants[c];
        s.s.inputs.push_back(
            {info.argument(), TensorType::fixed(info.shape), Source::Constant, c});
    }
    // A conv's weight, and its basis where it is steerable.
    void weight_in(Sig &s, int weight, const SteerableConv &steerable) {
        param_in(s, weight);
        if (steerable.basis >= 0) constant_in(s, steerable.basis);
    }
    void grad_out(Sig &s, int p) {
        const ParamInfo &info = plan_.params[p];
        s.s.outputs.push_back(
            {arg::grad_of(info.argument()), TensorType::fixed(info.shape), Source::Grad, p});
    }
    void buffer_in(Sig &s, int b) {
        const BufferInfo &info = plan_.buffers[b];
        s.s.inputs.push_back({info.argument(), TensorType::fixed(info.shape), Source::Buffer, b});
    }
    void buffer_out(Sig &s, int b) {
        const BufferInfo &info = plan_.buffers[b];
        s.s.outputs.push_back(
            {arg::next_of(info.argument()), TensorType::fixed(info.shape), Source::BufferNext, b});
    }
    void add_pipeline(int block, Sig &&s) {
        Block &b = plan_.blocks[block];
        const std::string op = op_name(s.s.op);
        std::string prefix;
        if (b.kind == BlockKind::Lifting) prefix = "lifting_";
        if (b.kind == BlockKind::LayerInput) prefix = "layer" + std::to_string(b.layer) + "_input_";
        if (b.kind == BlockKind::Cell) prefix = "layer" + std::to_string(b.layer) + "_cell_";
        s.s.name = prefix + op;
        s.s.block = block;
        b.by_op[int(s.s.op)] = int(plan_.pipelines.size());
        b.pipelines.push_back(int(plan_.pipelines.size()));
        plan_.pipelines.push_back(std::move(s.s));
    }

    // A conv stack: the lifting (frames, has_v false) or a layer's input (per copy).
    void conv_stack(int block, const std::vector<ConvLayerSpec> &layers, const std::string &prefix,
                    bool plain_single, bool has_v, bool with_d_in, bool steerable) {
        const std::vector<int> modules = sequential_conv_modules(layers);
        const bool plain = plain_single && layers.size() == 1 && !layers[0].batchnorm &&
                           layers[0].activation == "none";
        for (size_t i = 0; i < layers.size(); ++i) {
            const ConvLayerSpec &l = layers[i];
            ConvLayerPlan c;
            const std::string conv = plain ? prefix : prefix + "." + std::to_string(modules[i]);
            if (steerable) {
                // The lifting of a steerable flow: the frame's channels as trivial fields.
                c.steerable = steerable_conv(block, conv, FieldKind::Trivial, l.in_channels,
                                             l.channels / spec_.flow.field_size(), l.kernel,
                                             c.weight);
            } else {
                c.weight =
                    add_param(conv + ".weight", {l.channels, l.in_channels, l.kernel, l.kernel},
                              uniform_fan_in(int64_t(l.in_channels) * l.kernel * l.kernel));
                plan_.blocks[block].params.push_back(c.weight);
            }
            Block &b = plan_.blocks[block];
            if (l.batchnorm) {
                const std::string bn = prefix + "." + std::to_string(modules[i] + 1);
                c.bn_weight = add_param(bn + ".weight", {l.channels}, Init{Init::Constant, 1, {}});
                c.bn_bias = add_param(bn + ".bias", {l.channels}, Init{Init::Constant, 0, {}});
                c.running_mean = add_buffer(bn + ".running_mean", {l.channels}, {});
                c.running_var =
                    add_buffer(bn + ".running_var", {l.channels}, Init{Init::Constant, 1, {}});
                c.counter = int(plan_.counters.size());
                plan_.counters.push_back(bn + ".num_batches_tracked");
                b.params.push_back(c.bn_weight);
                b.params.push_back(c.bn_bias);
                b.buffers.push_back(c.running_mean);
                b.buffers.push_back(c.running_var);
            }
            b.convs.push_back(c);
        }
        Block &b = plan_.blocks[block];
        auto type = [&](int channels) {
            return has_v ? TensorType::hidden(channels) : TensorType::frame(channels);
        };
        const int n = int(layers.size());
        const TensorType in_type = type(layers.front().in_channels);
        const TensorType out_type = type(layers.back().channels);
        const std::vector<ConvLayerPlan> convs = b.convs;

        // Both forward modes read the input, every parameter and the running statistics.
        auto forward_inputs = [&](Sig &f) {
            f.in(arg::in, in_type);
            for (const auto &c : convs) {
                weight_in(f, c.weight, c.steerable);
                if (c.bn_weight >= 0) {
                    param_in(f, c.bn_weight);
                    param_in(f, c.bn_bias);
                    buffer_in(f, c.running_mean);
                    buffer_in(f, c.running_var);
                }
            }
            f.out(arg::out, out_type);
        };
        // Training mode: batch statistics, and everything the backward reads.
        Sig fwd = sig(Op::StackForward);
        forward_inputs(fwd);
        for (int i = 0; i < n; ++i) {
            if (i + 1 < n) fwd.out(arg::layer_out(i), type(layers[i].channels));
            if (layers[i].batchnorm) {
                fwd.out(arg::pre_norm(i), type(layers[i].channels));
                fwd.out(arg::batch_mean(i), TensorType::fixed({layers[i].channels}));
                fwd.out(arg::batch_var(i), TensorType::fixed({layers[i].channels}));
                buffer_out(fwd, convs[i].running_mean);
                buffer_out(fwd, convs[i].running_var);
            }
        }
        const bool saves = fwd.s.outputs.size() > 1;
        add_pipeline(block, std::move(fwd));

        // Evaluation mode (running statistics), where training mode differs or saves more.
        if (saves) {
            Sig eval = sig(Op::StackForwardEval);
            forward_inputs(eval);
            add_pipeline(block, std::move(eval));
        }

        Sig bwd = sig(Op::StackBackward);
        bwd.in(arg::in, in_type);
        for (int i = 0; i < n; ++i) {
            if (i + 1 < n) bwd.in(arg::layer_out(i), type(layers[i].channels));
            if (layers[i].batchnorm) {
                bwd.in(arg::pre_norm(i), type(layers[i].channels));
                bwd.in(arg::batch_mean(i), TensorType::fixed({layers[i].channels}));
                bwd.in(arg::batch_var(i), TensorType::fixed({layers[i].channels}));
            }
        }
        // The last activation's slope is read off the stack's output.
        if (layers.back().activation != "none") bwd.in(arg::out, out_type);
        bwd.in(arg::d_out, out_type);
        for (int i = 0; i < n; ++i) {
            // A conv's weight is read by its input adjoint, which layer 0 of the lifting skips.
            if (i > 0 || with_d_in) param_in(bwd, convs[i].weight);
            // A steerable weight's gradient is its filter gradient contracted with the basis.
            if (convs[i].steerable.basis >= 0) constant_in(bwd, convs[i].steerable.basis);
            if (convs[i].bn_weight >= 0) param_in(bwd, convs[i].bn_weight);
        }
        if (with_d_in) bwd.out(arg::d_in, in_type);
        for (const auto &c : convs) {
            grad_out(bwd, c.weight);
            if (c.bn_weight >= 0) {
                grad_out(bwd, c.bn_weight);
                grad_out(bwd, c.bn_bias);
            }
        }
        add_pipeline(block, std::move(bwd));
    }

    void lifting() {
        plan_.lifting = add_block(BlockKind::Lifting, -1, "lifting");
        conv_stack(plan_.lifting, spec_.lifting.layers, naming_.lifting,
                   naming_.plain_single_lifting, false, false, spec_.lifting.steerable);
    }

    void layer_input(int l) {
        const int block =
            add_block(BlockKind::LayerInput, l, "layer" + std::to_string(l) + ".input");
        plan_.layer_inputs[l] = block;
        conv_stack(block, {*spec_.recurrence.layers[l].input},
                   naming_.layer_inputs + "." + std::to_string(l - 1), false, true, true, false);
    }

    // The flow's parameters (learned) or constants (the reference's shift kernels).
    void flow() {
        const FlowSpec &f = spec_.flow;
        if (f.group == "learned") {
            const int k = f.learned_kernel;
            // kaiming_normal_(mode='fan_out', nonlinearity='linear') on each (1, 1, k, k)
            // slice: std = 1 / sqrt(k * k).
            plan_.flow_params.push_back(add_param(naming_.flow + ".learned_kernels",
                                                  {f.learned_copies, 1, k, k},
                                                  Init{Init::Normal, 1.0 / k, {}}));
        } else if (f.group == "translation" && naming_.shift_kernels_constant) {
            // The reference's FERNN moves copy i by a one-hot kernel: shifted[y, x] =
            // h[y + vy', x + vx'] with (vy', vx') its list entry. fernn's velocity (vx, vy)
            // moves content by +v (torch.roll(h, (vy, vx))), i.e. the entry (-vy, -vx).
            int reach = 0;
            for (const auto &v : f.velocities)
                reach = std::max({reach, std::abs(v[0]), std::abs(v[1])});
            const int k = 2 * reach + 1;
            const std::vector<int64_t> shape{f.copies(), 1, k, k};
            std::vector<float> values(size_t(product(shape)), 0.0f);
            for (size_t i = 0; i < f.velocities.size(); ++i) {
                const int row = reach - f.velocities[i][1], col = reach - f.velocities[i][0];
                values[(i * k + row) * k + col] = 1.0f;
            }
            add_constant(naming_.flow + ".shift_kernels", shape, std::move(values), 0);
        }
    }

    void cell(int l) {
        const RecurrentLayerSpec &layer = spec_.recurrence.layers[l];
        const int block = add_block(BlockKind::Cell, l, "layer" + std::to_string(l) + ".cell");
        plan_.cells[l] = block;
        const int k = layer.kernel, c = layer.channels;
        const std::string module = naming_.conv_h(l, spec_.layers());
        int conv_h = -1;
        SteerableConv steerable;
        if (spec_.flow.steerable()) {
            steerable = steerable_conv(block, module, FieldKind::Regular, layer.fields(),
                                       layer.fields(), k, conv_h);
        } else {
            conv_h = add_param(module + ".weight", {c, c, k, k}, uniform_fan_in(int64_t(c) * k * k));
            plan_.blocks[block].params.push_back(conv_h);
        }
        plan_.blocks[block].conv_h = conv_h;
        plan_.blocks[block].conv_h_steerable = steerable;
        const TensorType x = l == 0 ? TensorType::frame(c) : TensorType::hidden(c);
        const TensorType h = TensorType::hidden(c);

        Sig fwd = sig(Op::CellForward);
        fwd.in(arg::x, x).in(arg::h_prev, h);
        weight_in(fwd, conv_h, steerable);
        for (int p : plan_.flow_params) param_in(fwd, p);
        fwd.out(arg::h_next, h);
        add_pipeline(block, std::move(fwd));

        add_pipeline(block, std::move(sig(Op::CellForwardFirst).in(arg::x, x).out(arg::h_next, h)));

        Sig bwd = sig(Op::CellBackward);
        bwd.in(arg::h_prev, h).in(arg::h_next, h).in(arg::d_h_next, h);
        weight_in(bwd, conv_h, steerable);
        for (int p : plan_.flow_params) param_in(bwd, p);
        bwd.out(arg::d_h_prev, h).out(arg::d_x, x);
        grad_out(bwd, conv_h);
        for (int p : plan_.flow_params) grad_out(bwd, p);
        add_pipeline(block, std::move(bwd));

        add_pipeline(block, std::move(sig(Op::CellBackwardFirst)
                                          .in(arg::h_next, h)
                                          .in(arg::d_h_next, h)
                                          .out(arg::d_x, x)));
    }

    void head() {
        plan_.head = add_block(BlockKind::Head, -1, "head");
        if (spec_.readout.kind == "classes") {
            classes_head();
        } else {
            frames_head();
        }
    }

    void frames_head() {
        const FramesReadout &r = spec_.readout.frames;
        const int c = spec_.top_channels(), k = r.decoder_kernel;
        std::vector<int> weights;
        // nn.Sequential numbering: conv, ReLU, conv, ReLU, ..., conv.
        for (int i = 0; i <= r.decoder_layers; ++i) {
            const int out = i == r.decoder_layers ? r.channels : c;
            weights.push_back(add_param("decoder_conv." + std::to_string(2 * i) + ".weight",
                                        {out, c, k, k}, uniform_fan_in(int64_t(c) * k * k)));
        }
        plan_.blocks[plan_.head].params = weights;
        const TensorType h = TensorType::hidden(c), feat = TensorType::frame(c),
                         pred = TensorType::frame(r.channels);

        Sig fwd = sig(Op::ReadoutForward);
        fwd.in(arg::h, h);
        for (int w : weights) param_in(fwd, w);
        fwd.out(arg::pred, pred).out(arg::feat, feat);
        for (int i = 0; i < r.decoder_layers; ++i) fwd.out(arg::decoder_act(i), feat);
        add_pipeline(plan_.head, std::move(fwd));

        Sig bwd = sig(Op::ReadoutBackward);
        bwd.in(arg::h, h).in(arg::feat, feat);
        for (int i = 0; i < r.decoder_layers; ++i) bwd.in(arg::decoder_act(i), feat);
        // d_pred: the gradient of any loss with respect to this step's prediction (the
        // built-in MSE's comes from frame_loss_gradient, a caller's through the C API).
        bwd.in(arg::d_pred, pred).in(arg::d_h_carry, h);
        for (int w : weights) param_in(bwd, w);
        bwd.out(arg::d_h, h);
        for (int w : weights) grad_out(bwd, w);
        add_pipeline(plan_.head, std::move(bwd));

        add_pipeline(plan_.head, std::move(sig(Op::FrameLoss)
                                               .in(arg::pred, pred)
                                               .in(arg::target, pred)
                                               .out(arg::sse, TensorType::fixed({}))));
        add_pipeline(plan_.head, std::move(sig(Op::FrameLossGradient)
                                               .in(arg::pred, pred)
                                               .in(arg::target, pred)
                                               .in(arg::grad_scale, TensorType::scalar())
                                               .out(arg::d_pred, pred)));
    }

    void classes_head() {
        const ClassesReadout &r = spec_.readout.classes;
        const int c = spec_.top_channels(), k = r.classes;
        const int weight = add_param("fc.weight", {k, c}, uniform_fan_in(c));
        const int bias = add_param("fc.bias", {k}, uniform_fan_in(c));
        plan_.blocks[plan_.head].params = {weight, bias};
        const TensorType h = TensorType::hidden(c), feat = TensorType::features(c),
                         logits = TensorType::features(k);

        add_pipeline(plan_.head,
                     std::move(sig(Op::PoolForward).in(arg::h, h).out(arg::feat, feat)));
        add_pipeline(plan_.head, std::move(sig(Op::PoolBackward)
                                               .in(arg::h, h)
                                               .in(arg::d_feat, feat)
                                               .in(arg::d_h_carry, h)
                                               .out(arg::d_h, h)));
        Sig fwd = sig(Op::ClassifierForward);
        fwd.in(arg::feat_sum, feat).in(arg::time_scale, TensorType::scalar());
        param_in(fwd, weight);
        param_in(fwd, bias);
        fwd.out(arg::logits, logits);
        add_pipeline(plan_.head, std::move(fwd));

        Sig bwd = sig(Op::ClassifierBackward);
        // d_logits: the gradient of any loss with respect to the logits (the built-in
        // cross-entropy's is computed by the runtime from the logits it reads back anyway).
        bwd.in(arg::feat_sum, feat)
            .in(arg::d_logits, logits)
            .in(arg::time_scale, TensorType::scalar());
        param_in(bwd, weight);
        bwd.out(arg::d_feat, feat);
        grad_out(bwd, weight);
        grad_out(bwd, bias);
        add_pipeline(plan_.head, std::move(bwd));
    }

    void optimizer() {
        plan_.optimizer = add_block(BlockKind::Optimizer, -1, "optimizer");
        const TensorType flat = TensorType::flat(), scalar = TensorType::scalar();
        add_pipeline(plan_.optimizer, std::move(sig(Op::GradAccumulate)
                                                    .in(arg::acc, flat)
                                                    .in(arg::step, flat)
                                                    .out(arg::sum, flat)));
        add_pipeline(plan_.optimizer, std::move(sig(Op::FillZero).out(arg::zeros, flat)));
        Sig step = sig(Op::OptimizerStep);
        step.in(arg::params, flat)
            .in(arg::grads, flat)
            .in(arg::exp_avg, flat)
            .in(arg::exp_avg_sq, flat);
        // Scalars as PyTorch forms them: Python floats cast to the tensor type; the clipping
        // threshold compared in float64 with the float64 norm.
        for (const std::string *s :
             {&arg::step_size, &arg::bias_correction2_sqrt, &arg::beta1, &arg::one_minus_beta1,
              &arg::beta2, &arg::one_minus_beta2, &arg::eps})
            step.in(*s, scalar);
        step.in(arg::max_norm, TensorType::scalar(Element::Float64));
        step.out(arg::params_next, flat)
            .out(arg::exp_avg_next, flat)
            .out(arg::exp_avg_sq_next, flat)
            .out(arg::grad_norm, TensorType::fixed({}, Element::Float64));
        add_pipeline(plan_.optimizer, std::move(step));
    }

    const Spec &spec_;
    const NamingScheme &naming_;
    ModelPlan plan_;
    int64_t next_param_ = 0, next_buffer_ = 0, next_constant_ = 0;
};

json argument_json(const Argument &a) {
    static const char *sources[] = {"data",   "param",       "grad",
                                    "buffer", "buffer_next", "constant"};
    json j{{"name", a.name}, {"type", a.type.to_json()}, {"source", sources[int(a.source)]}};
    if (a.index >= 0) j["index"] = a.index;
    return j;
}

}  // namespace

const char *op_name(Op op) {
    return kOpNames.at(size_t(op));
}

int64_t ParamInfo::numel() const {
    return product(shape);
}
std::string ParamInfo::argument() const {
    return argument_name(name);
}
int64_t ConstantInfo::numel() const {
    return product(shape);
}
std::string ConstantInfo::argument() const {
    return argument_name(name);
}
int64_t BufferInfo::numel() const {
    return product(shape);
}
std::string BufferInfo::argument() const {
    return argument_name(name);
}

json Argument::to_json() const {
    return argument_json(*this);
}

const Argument *PipelineSignature::find_input(const std::string &n) const {
    for (const auto &a : inputs)
        if (a.name == n) return &a;
    return nullptr;
}

const Argument *PipelineSignature::find_output(const std::string &n) const {
    for (const auto &a : outputs)
        if (a.name == n) return &a;
    return nullptr;
}

json PipelineSignature::to_json() const {
    json in = json::array(), out = json::array();
    for (const auto &a : inputs) in.push_back(a.to_json());
    for (const auto &a : outputs) out.push_back(a.to_json());
    return json{{"name", name}, {"op", op_name(op)}, {"inputs", in}, {"outputs", out}};
}

int64_t ModelPlan::params_size() const {
    return params.empty() ? 0 : params.back().offset + params.back().numel();
}

int64_t ModelPlan::buffers_size() const {
    return buffers.empty() ? 0 : buffers.back().offset + buffers.back().numel();
}

int64_t ModelPlan::constants_size() const {
    return constants.empty() ? 0 : constants.back().offset + constants.back().numel();
}

int64_t ModelPlan::parameter_count() const {
    int64_t n = 0;
    for (const auto &p : params) n += p.numel();
    return n;
}

bool ModelPlan::has(int block, Op op) const {
    return block >= 0 && blocks.at(block).by_op[int(op)] >= 0;
}

const PipelineSignature &ModelPlan::pipeline(int block, Op op) const {
    const int i = blocks.at(block).by_op[int(op)];
    if (i < 0) {
        throw std::logic_error("block " + blocks[block].name + " has no " + op_name(op) +
                               " pipeline");
    }
    return pipelines[i];
}

const PipelineSignature &ModelPlan::pipeline(const std::string &name) const {
    for (const auto &p : pipelines)
        if (p.name == name) return p;
    throw std::logic_error("the plan has no pipeline " + name);
}

json ModelPlan::to_json() const {
    json params_j = json::array(), buffers_j = json::array(), constants_j = json::array();
    for (const auto &p : params)
        params_j.push_back({{"name", p.name}, {"shape", p.shape}, {"offset", p.offset}});
    for (const auto &b : buffers)
        buffers_j.push_back({{"name", b.name}, {"shape", b.shape}, {"offset", b.offset}});
    for (const auto &c : constants) constants_j.push_back({{"name", c.name}, {"shape", c.shape}});
    json derived_j = json::array();
    for (const auto &d : derived) derived_j.push_back({{"name", d.name}, {"shape", d.shape}});
    json blocks_j = json::array();
    for (const auto &b : blocks) {
        json pipes = json::array();
        for (int i : b.pipelines) pipes.push_back(pipelines[i].name);
        json names = json::array();
        for (int i : b.params) names.push_back(params[i].name);
        blocks_j.push_back({{"name", b.name}, {"parameters", names}, {"pipelines", pipes}});
    }
    json pipelines_j = json::array();
    for (const auto &p : pipelines) pipelines_j.push_back(p.to_json());
    json out{
        {"geometry",
         {{"height", geometry.height}, {"width", geometry.width}, {"copies", geometry.copies}}},
        {"parameters", params_j},
        {"buffers", buffers_j},
        {"counters", counters},
        {"constants", constants_j},
        {"blocks", blocks_j},
        {"pipelines", pipelines_j}};
    // Only steerable convs have derived tensors; other plans keep their earlier JSON.
    if (!derived.empty()) out["derived"] = derived_j;
    return out;
}

ModelPlan build_plan(const Spec &spec) {
    return PlanBuilder(spec).build();
}

std::string argument_name(const std::string &tensor_name) {
    std::string out = tensor_name;
    std::replace(out.begin(), out.end(), '.', '_');
    return out;
}

}  // namespace fernn
