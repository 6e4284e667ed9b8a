#include "generators/blocks/conv_stack.h"

#include "generators/activation.h"
#include "generators/conv.h"
#include "generators/steerable.h"
#include "runtime/plan/arguments.h"

namespace fernn::gen {

namespace {

// What every layer of one stack shares: the frame, whether tensors carry copies, the batch.
struct StackShape {
    Frame frame;
    bool has_v;
    int copies;
    Expr batch;
    Type type;

    std::vector<Expr> at(const Expr &c, const Expr &x, const Expr &y) const {
        const Dims &d = dims();
        if (has_v) return {c, x, y, d.v, d.b};
        return {c, x, y, d.b};
    }
    std::vector<Expr> point() const {
        const Dims &d = dims();
        return at(d.c, d.x, d.y);
    }
    RootStage::Kind kind() const { return has_v ? RootStage::Hidden : RootStage::Frame; }
    // Values per channel BatchNorm reduces over: batch × pixels (× copies).
    Expr count() const {
        return Halide::cast(type, batch) *
               Halide::cast(type, Expr(double(frame.width) * frame.height * (has_v ? copies : 1)));
    }
};

// Σ of f(c, x, y[, v], b) over everything but c: row sums (vectorized over channels, parallel
// over rows), then their total per channel.
Func channel_sum(const std::string &name, const Func &f, int channels, const StackShape &s,
                 Stages &stages) {
    const Dims &d = dims();
    RDom rx(0, s.frame.width, name + "_rx");
    Func rows(name + "_rows");
    std::vector<Expr> row_at = {d.c, d.y};
    std::vector<Expr> read = {d.c, rx, d.y};
    if (s.has_v) {
        row_at.push_back(d.v);
        read.push_back(d.v);
    }
    row_at.push_back(d.b);
    read.push_back(d.b);
    rows(row_at) = Halide::cast(s.type, 0);
    rows(row_at) += f(read);
    stages.roots.push_back({rows, RootStage::Small, channels});
    Func total(name);
    total(d.c) = Halide::cast(s.type, 0);
    if (s.has_v) {
        RDom r(0, s.frame.height, 0, s.copies, 0, s.batch, name + "_r");
        total(d.c) += rows(d.c, r.x, r.y, r.z);
    } else {
        RDom r(0, s.frame.height, 0, s.batch, name + "_r");
        total(d.c) += rows(d.c, r.x, r.y);
    }
    stages.roots.push_back({total, RootStage::Small, channels});
    return total;
}

std::string layer_name(size_t i) {
    return "l" + std::to_string(i);
}

StackShape shape_of(const Spec &spec, const Block &block, const PipelineBuilder &b) {
    return StackShape{Frame{spec.input.width, spec.input.height},
                      block.kind == BlockKind::LayerInput, spec.copies(), b.batch(), b.type()};
}

}  // namespace

std::vector<ConvLayerSpec> stack_layers(const Spec &spec, const Block &block) {
    if (block.kind == BlockKind::Lifting) return spec.lifting.layers;
    return {*spec.recurrence.layers.at(block.layer).input};
}

void build_stack_forward(const Spec &spec, const Block &block, bool train, PipelineBuilder &b) {
    const std::vector<ConvLayerSpec> layers = stack_layers(spec, block);
    const StackShape s = shape_of(spec, block, b);
    const std::vector<Expr> pt = s.point();
    Stages &stages = b.stages();
    Func input = b.in(arg::in);
    for (size_t i = 0; i < layers.size(); ++i) {
        const ConvLayerSpec &l = layers[i];
        const ConvLayerPlan &p = block.convs[i];
        const bool last = i + 1 == layers.size();
        const std::string name = layer_name(i);
        Func packed =
            pack_weights(conv_filter(b, p.weight, p.steerable, name + "_filter"), name + "_packed");
        stages.roots.push_back({packed, RootStage::Weights, l.channels});
        Func padded = pad(name + "_in_padded", input, s.frame, s.has_v, padding_from(l.padding));
        ConvStage conv = correlate(name + "_conv", padded, padded, packed, l.in_channels,
                                   l.channels, l.kernel, s.has_v, s.type, stages.algorithms);
        Func y(last ? arg::out : train ? arg::layer_out(int(i)) : name + "_y");
        const Dims &d = dims();
        if (!l.batchnorm) {
            y(pt) = activate(l.activation, conv.conv(pt));
            conv.owner = y;
            stages.convs.push_back(conv);
        } else {
            Func gamma = b.param(p.bn_weight), beta = b.param(p.bn_bias);
            Func running_mean = b.buffer(p.running_mean), running_var = b.buffer(p.running_var);
            const Expr eps = Halide::cast(s.type, Expr(kBatchNormEps));
            if (!train) {
                const Expr scale = gamma(d.c) / Halide::sqrt(running_var(d.c) + eps);
                y(pt) =
                    activate(l.activation, (conv.conv(pt) - running_mean(d.c)) * scale + beta(d.c));
                conv.owner = y;
                stages.convs.push_back(conv);
            } else {
                Func z(arg::pre_norm(int(i)));
                z(pt) = conv.conv(pt);
                conv.owner = z;
                stages.convs.push_back(conv);
                b.out(z);
                const Expr n = s.count();
                Func mean(arg::batch_mean(int(i))), var(arg::batch_var(int(i)));
                mean(d.c) = channel_sum(name + "_sum", z, l.channels, s, stages)(d.c) / n;
                stages.roots.push_back({mean, RootStage::Small, l.channels});
                Func centered(name + "_centered_sq");
                centered(pt) = (z(pt) - mean(d.c)) * (z(pt) - mean(d.c));
                var(d.c) = channel_sum(name + "_sumsq", centered, l.channels, s, stages)(d.c) / n;
                stages.roots.push_back({var, RootStage::Small, l.channels});
                b.out(mean);
                b.out(var);
                y(pt) = activate(
                    l.activation,
                    (z(pt) - mean(d.c)) / Halide::sqrt(var(d.c) + eps) * gamma(d.c) + beta(d.c));
                stages.roots.push_back({y, s.kind(), l.channels});
                // The running estimates move by the momentum; the variance unbiased (n - 1).
                const Expr m = Halide::cast(s.type, Expr(kBatchNormMomentum));
                const Expr one = Halide::cast(s.type, 1);
                Func mean_next(b.buffer_next_name(p.running_mean));
                Func var_next(b.buffer_next_name(p.running_var));
                mean_next(d.c) = (one - m) * running_mean(d.c) + m * mean(d.c);
                var_next(d.c) =
                    (one - m) * running_var(d.c) + m * var(d.c) * n / Halide::max(n - one, one);
                stages.roots.push_back({mean_next, RootStage::Small, l.channels});
                stages.roots.push_back({var_next, RootStage::Small, l.channels});
                b.out(mean_next);
                b.out(var_next);
            }
        }
        if (train || last) b.out(y);
        input = y;
    }
}

void build_stack_backward(const Spec &spec, const Block &block, PipelineBuilder &b) {
    const std::vector<ConvLayerSpec> layers = stack_layers(spec, block);
    const StackShape s = shape_of(spec, block, b);
    const std::vector<Expr> pt = s.point();
    const Dims &d = dims();
    Stages &stages = b.stages();
    const bool with_d_in = block.kind == BlockKind::LayerInput;
    Func grad = b.in(arg::d_out);  // dL/d(output of layer i)
    for (size_t k = layers.size(); k-- > 0;) {
        const ConvLayerSpec &l = layers[k];
        const ConvLayerPlan &p = block.convs[k];
        const bool last = k + 1 == layers.size();
        const std::string name = layer_name(k);
        Func d_pre = grad;  // dL/d(pre-activation)
        if (l.activation != "none") {
            const Func out = last ? b.in(arg::out) : b.in(arg::layer_out(int(k)));
            d_pre = Func(name + "_d_pre");
            d_pre(pt) = grad(pt) * activation_slope(l.activation, out(pt));
            stages.roots.push_back({d_pre, s.kind(), l.channels});
        }
        Func d_z = d_pre;  // dL/d(conv output)
        if (l.batchnorm) {
            const Func z = b.in(arg::pre_norm(int(k)));
            const Func mean = b.in(arg::batch_mean(int(k))), var = b.in(arg::batch_var(int(k)));
            const Func gamma = b.param(p.bn_weight);
            Func inv_std(name + "_inv_std");
            inv_std(d.c) = 1 / Halide::sqrt(var(d.c) + Halide::cast(s.type, Expr(kBatchNormEps)));
            stages.roots.push_back({inv_std, RootStage::Small, l.channels});
            Func xhat_grad(name + "_xhat_d_pre");
            xhat_grad(pt) = (z(pt) - mean(d.c)) * inv_std(d.c) * d_pre(pt);
            // The sums are read below from their own stages: a pipeline must not read back an
            // output that is a view into the gradient buffer (it may be unaligned, and Halide
            // reads back its outputs with aligned vector loads).
            const Func beta_sum = channel_sum(name + "_d_beta", d_pre, l.channels, s, stages);
            const Func gamma_sum = channel_sum(name + "_d_gamma", xhat_grad, l.channels, s, stages);
            Func d_beta(b.grad_name(p.bn_bias)), d_gamma(b.grad_name(p.bn_weight));
            d_beta(d.c) = beta_sum(d.c);
            d_gamma(d.c) = gamma_sum(d.c);
            stages.roots.push_back({d_beta, RootStage::Small, l.channels});
            stages.roots.push_back({d_gamma, RootStage::Small, l.channels});
            b.out(d_beta);
            b.out(d_gamma);
            // d_z = γ·inv_std·(d_pre - mean(d_pre) - x̂·mean(d_pre·x̂)).
            const Expr n = s.count();
            Func dz(name + "_d_z");
            const Expr xhat = (z(pt) - mean(d.c)) * inv_std(d.c);
            dz(pt) = gamma(d.c) * inv_std(d.c) *
                     (d_pre(pt) - beta_sum(d.c) / n - xhat * gamma_sum(d.c) / n);
            stages.roots.push_back({dz, s.kind(), l.channels});
            d_z = dz;
        }
        const Func input = k == 0 ? b.in(arg::in) : b.in(arg::layer_out(int(k) - 1));
        const Padding padding = padding_from(l.padding);
        Func input_padded = pad(name + "_in_padded", input, s.frame, s.has_v, padding);
        WeightGradStage wg =
            weight_grad(conv_filter_grad_name(b, p.weight, p.steerable), d_z, input_padded,
                        input_padded, l.channels, l.in_channels, l.kernel, s.frame, s.has_v,
                        s.copies, s.batch, s.type, stages.algorithms);
        stages.weight_grads.push_back(wg);
        b.out(conv_param_grad(b, p.weight, p.steerable, wg.out));
        if (k == 0 && !with_d_in) break;
        // dL/d(input of layer k): the correlation with the kernel flipped and transposed.
        Func adjoint = adjoint_weights(
            pack_weights(conv_filter(b, p.weight, p.steerable, name + "_filter"), name + "_packed"),
            l.kernel, name + "_adjoint");
        stages.roots.push_back({adjoint, RootStage::Weights, l.in_channels});
        Func d_z_padded = pad(name + "_d_z_padded", d_z, s.frame, s.has_v, padding);
        ConvStage conv = correlate(name + "_conv_t", d_z_padded, d_z_padded, adjoint, l.channels,
                                   l.in_channels, l.kernel, s.has_v, s.type, stages.algorithms);
        Func d_input(k == 0 ? arg::d_in : layer_name(k - 1) + "_d_out");
        d_input(pt) = conv.conv(pt);
        conv.owner = d_input;
        stages.convs.push_back(conv);
        if (k == 0) b.out(d_input);
        grad = d_input;
    }
}

}  // namespace fernn::gen
