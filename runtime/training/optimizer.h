// Gradient-norm clipping and Adam on the model's device, through the library's optimizer_step
// pipeline (generators/optimizer.h): torch.nn.utils.clip_grad_norm_ then torch.optim.Adam
// (no weight decay, no amsgrad), operation for operation. Parameters and moments are double
// buffered: each step reads one copy and writes the other, then they swap.
#pragma once

#include <cstdint>

#include "runtime/model/parameters.h"

namespace fernn {

struct AdamConfig {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// One clipping + Adam update through the optimizer_step pipeline, on flat tensors of any one
// length; `step` counts from 1; `norm` (0-D) receives the gradient norm before clipping.
template <typename T>
void adam_step(const ModelLibrary &lib, const AdamConfig &config, int64_t step, double max_norm,
               Tensor<T> &params, Tensor<T> &grads, Tensor<T> &m, Tensor<T> &v,
               Tensor<T> &params_next, Tensor<T> &m_next, Tensor<T> &v_next, Tensor<double> &norm);

template <typename T>
class Optimizer {
  public:
    using Parameters = fernn::Parameters<T>;

    Optimizer(const ModelLibrary &lib, AdamConfig config);

    // The current parameters (what forward and backward should use).
    Parameters &params() { return *params_[current_]; }
    // One step with grads (the gradients of params()); returns the gradient norm before
    // clipping. max_norm <= 0: no clipping.
    double step(Parameters &grads, double max_norm);

    int64_t steps() const { return steps_; }
    void set_steps(int64_t steps) { steps_ = steps; }
    const AdamConfig &config() const { return config_; }
    // Adam's moments, for checkpoints (the current copies).
    Tensor<T> &exp_avg() { return *m_[current_]; }
    Tensor<T> &exp_avg_sq() { return *v_[current_]; }

  private:
    const ModelLibrary &lib_;
    AdamConfig config_;
    int64_t steps_ = 0;
    int current_ = 0;
    std::unique_ptr<Parameters> params_[2];
    std::unique_ptr<Tensor<T>> m_[2], v_[2];
    Tensor<double> norm_;
};

}  // namespace fernn
