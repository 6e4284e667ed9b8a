// Adam and gradient-norm clipping, written to match torch.optim.Adam (no weight decay, no
// amsgrad) and torch.nn.utils.clip_grad_norm_ operation for operation, over the contiguous
// parameter and gradient buffers of a ParameterSet.
#pragma once

#include <cstdint>
#include <vector>

#include "checkpoint.h"

namespace fernn {

struct AdamConfig {
    double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

template <typename T>
class Adam {
  public:
    explicit Adam(AdamConfig config) : config_(config) {}

    // Zeroed moments for n parameters.
    void allocate(size_t n);
    // One update of params (n values) with grads.
    void step(T *params, const T *grads);

    int64_t steps() const { return steps_; }
    AlignedVector<T> &exp_avg() { return m_; }
    AlignedVector<T> &exp_avg_sq() { return v_; }
    const AlignedVector<T> &exp_avg() const { return m_; }
    const AlignedVector<T> &exp_avg_sq() const { return v_; }
    // Restores the state of a checkpoint (moments already copied into exp_avg/exp_avg_sq).
    void set_steps(int64_t steps) { steps_ = steps; }
    const AdamConfig &config() const { return config_; }

  private:
    AdamConfig config_;
    int64_t steps_ = 0;
    AlignedVector<T> m_, v_;
};

// Scales all gradients by min(1, max_norm / (norm + 1e-6)) where norm is the L2 norm of all of
// them together; returns norm. max_norm <= 0 only measures.
template <typename T>
double clip_grad_norm(AlignedVector<T> &grads, double max_norm);

}  // namespace fernn
