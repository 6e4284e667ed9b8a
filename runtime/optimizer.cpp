#include "optimizer.h"

#include <cmath>

namespace fernn {

template <typename T>
void Adam<T>::allocate(size_t n) {
    m_.assign(n, T(0));
    v_.assign(n, T(0));
    steps_ = 0;
}

template <typename T>
void Adam<T>::step(T *params, const T *grads) {
    ++steps_;
    // Scalars as PyTorch forms them: Python floats (double), cast to T where a kernel uses them.
    const T b1 = T(config_.beta1), b2 = T(config_.beta2);
    const T one_minus_b1 = T(1 - config_.beta1), one_minus_b2 = T(1 - config_.beta2);
    const double bias_correction1 = 1 - std::pow(config_.beta1, double(steps_));
    const double bias_correction2 = 1 - std::pow(config_.beta2, double(steps_));
    const T step_size = T(config_.lr / bias_correction1);
    const T bias_correction2_sqrt = T(std::sqrt(bias_correction2));
    const T eps = T(config_.eps);
    const size_t n = m_.size();
    for (size_t i = 0; i < n; ++i) {
        const T g = grads[i];
        m_[i] = m_[i] * b1 + one_minus_b1 * g;  // exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
        v_[i] = v_[i] * b2 +
                one_minus_b2 * g * g;  // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1-beta2)
        const T denom = std::sqrt(v_[i]) / bias_correction2_sqrt + eps;
        params[i] = params[i] +
                    (-step_size) * (m_[i] / denom);  // param.addcdiv_(exp_avg, denom, -step_size)
    }
}

template <typename T>
double clip_grad_norm(AlignedVector<T> &grads, double max_norm) {
    double sum = 0;
    for (const T g : grads) sum += double(g) * double(g);
    const double norm = std::sqrt(sum);
    if (max_norm > 0) {
        const double coef = max_norm / (norm + 1e-6);
        if (coef < 1) {
            const T c = T(coef);
            for (T &g : grads) g *= c;
        }
    }
    return norm;
}

template class Adam<float>;
template class Adam<double>;
template double clip_grad_norm<float>(AlignedVector<float> &, double);
template double clip_grad_norm<double>(AlignedVector<double> &, double);

}  // namespace fernn
