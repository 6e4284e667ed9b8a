// The names of the data arguments of pipelines, spelled once: the plan declares signatures
// with them, the generators read and define them, the runtime binds them. Parameter arguments
// are named after their parameter (argument_name), gradients "grad_" + that, BatchNorm
// running statistics after their buffer and their updated copies "next_" + that.
#pragma once

#include <string>

namespace fernn::arg {

// Conv stacks (the lifting, a layer's input conv): what they read and produce.
inline const std::string in = "in", out = "out", d_in = "d_in", d_out = "d_out";
// Per conv layer i of a stack, saved for the backward: its output (i < last), its conv output
// before BatchNorm, and the batch mean and (biased) variance BatchNorm normalized with.
inline std::string layer_out(int i) {
    return "y_" + std::to_string(i);
}
inline std::string pre_norm(int i) {
    return "z_" + std::to_string(i);
}
inline std::string batch_mean(int i) {
    return "mean_" + std::to_string(i);
}
inline std::string batch_var(int i) {
    return "var_" + std::to_string(i);
}

// Recurrent cells: the layer input x (broadcast over copies for layer 0), the states.
inline const std::string x = "x", d_x = "d_x", h_prev = "h_prev", h_next = "h_next",
                         d_h_next = "d_h_next", d_h_prev = "d_h_prev";

// Heads. h: the top layer's state the head reads; d_h_carry: dL/dh from later steps;
// d_h: the carry plus the head's share.
inline const std::string h = "h", d_h_carry = "d_h_carry", d_h = "d_h";
// frames: the prediction, the pooled state, each decoder layer's output, the loss.
inline const std::string pred = "pred", feat = "feat", target = "target", grad_scale = "grad_scale",
                         sse = "sse", d_pred = "d_pred";
inline std::string decoder_act(int i) {
    return "act_" + std::to_string(i);
}
// classes: the pooled feature of one step and its gradient, their sum over steps, logits.
inline const std::string d_feat = "d_feat", feat_sum = "feat_sum", logits = "logits",
                         d_logits = "d_logits", time_scale = "time_scale";

// The optimizer over flat buffers.
inline const std::string acc = "acc", step = "step", sum = "sum", zeros = "zeros",
                         params = "params", grads = "grads", exp_avg = "m", exp_avg_sq = "v",
                         params_next = "params_next", exp_avg_next = "m_next",
                         exp_avg_sq_next = "v_next", grad_norm = "grad_norm",
                         step_size = "step_size", bias_correction2_sqrt = "bias_correction2_sqrt",
                         beta1 = "beta1", one_minus_beta1 = "one_minus_beta1", beta2 = "beta2",
                         one_minus_beta2 = "one_minus_beta2", eps = "eps", max_norm = "max_norm";

inline std::string grad_of(const std::string &argument) {
    return "grad_" + argument;
}
inline std::string next_of(const std::string &argument) {
    return "next_" + argument;
}

}  // namespace fernn::arg
