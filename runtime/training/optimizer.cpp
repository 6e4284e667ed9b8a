#include "runtime/training/optimizer.h"

#include <cmath>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
Optimizer<T>::Optimizer(const ModelLibrary &lib, AdamConfig config)
    : lib_(lib), config_(config), norm_(lib, {}) {
    for (int i = 0; i < 2; ++i) {
        params_[i] = std::make_unique<Parameters>(lib);
        m_[i] = std::make_unique<Tensor<T>>(lib, params_[i]->flat().extents());
        v_[i] = std::make_unique<Tensor<T>>(lib, params_[i]->flat().extents());
    }
    m_[0]->fill(T(0));
    v_[0]->fill(T(0));
}

template <typename T>
void adam_step(const ModelLibrary &lib, const AdamConfig &c, int64_t step, double max_norm,
               Tensor<T> &params, Tensor<T> &grads, Tensor<T> &m, Tensor<T> &v,
               Tensor<T> &params_next, Tensor<T> &m_next, Tensor<T> &v_next, Tensor<double> &norm) {
    // Scalars as PyTorch forms them: Python floats (double), cast to T by the pipeline.
    const double bias_correction1 = 1 - std::pow(c.beta1, double(step));
    const double bias_correction2 = 1 - std::pow(c.beta2, double(step));
    const ModelPlan &plan = lib.plan();
    lib.call(plan.pipeline(plan.optimizer, Op::OptimizerStep))
        .bind(arg::params, *params.buffer())
        .bind(arg::grads, *grads.buffer())
        .bind(arg::exp_avg, *m.buffer())
        .bind(arg::exp_avg_sq, *v.buffer())
        .scalar(arg::step_size, c.lr / bias_correction1)
        .scalar(arg::bias_correction2_sqrt, std::sqrt(bias_correction2))
        .scalar(arg::beta1, c.beta1)
        .scalar(arg::one_minus_beta1, 1 - c.beta1)
        .scalar(arg::beta2, c.beta2)
        .scalar(arg::one_minus_beta2, 1 - c.beta2)
        .scalar(arg::eps, c.eps)
        .scalar(arg::max_norm, max_norm)
        .bind(arg::params_next, *params_next.buffer())
        .bind(arg::exp_avg_next, *m_next.buffer())
        .bind(arg::exp_avg_sq_next, *v_next.buffer())
        .bind(arg::grad_norm, *norm.buffer())
        .run();
}

template <typename T>
double Optimizer<T>::step(Parameters &grads, double max_norm) {
    ++steps_;
    const int next = 1 - current_;
    adam_step(lib_, config_, steps_, max_norm, params_[current_]->flat(), grads.flat(),
              *m_[current_], *v_[current_], params_[next]->flat(), *m_[next], *v_[next], norm_);
    current_ = next;
    double norm;
    norm_.download(&norm);  // one scalar per step, for the metrics
    return norm;
}

template class Optimizer<float>;
template class Optimizer<double>;
template void adam_step(const ModelLibrary &, const AdamConfig &, int64_t, double, Tensor<float> &,
                        Tensor<float> &, Tensor<float> &, Tensor<float> &, Tensor<float> &,
                        Tensor<float> &, Tensor<float> &, Tensor<double> &);
template void adam_step(const ModelLibrary &, const AdamConfig &, int64_t, double, Tensor<double> &,
                        Tensor<double> &, Tensor<double> &, Tensor<double> &, Tensor<double> &,
                        Tensor<double> &, Tensor<double> &, Tensor<double> &);

}  // namespace fernn
