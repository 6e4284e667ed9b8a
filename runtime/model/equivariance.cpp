#include "runtime/model/equivariance.h"

#include <cmath>

#include "runtime/groups/flow_action.h"

namespace fernn {

template <typename T>
Array<T> move_sequence(const FlowSpec &flow, const Array<T> &x, const std::vector<int> &nu) {
    Array<T> out(x.shape);
    const int64_t frames = x.shape[1], channels = x.shape[2], h = x.shape[3], w = x.shape[4];
    const int64_t frame = channels * h * w;
    for (int64_t b = 0; b < x.shape[0]; ++b)
        for (int64_t t = 0; t < frames; ++t) {
            const int64_t at = (b * frames + t) * frame;
            act_on_planes(flow, nu, int(t), x.data.data() + at, out.data.data() + at,
                          int(channels), int(h), int(w), 1);
        }
    return out;
}

template <typename T>
EquivarianceCheck check_equivariance(const SequenceModel<T> &model, const ModelWeights<T> &weights,
                                     const Array<T> &x, const std::vector<int> &nu, Mode mode) {
    const Spec &spec = model.spec();
    const FlowSpec &flow = spec.flow;
    typename SequenceModel<T>::Trace a, b;
    typename SequenceModel<T>::Options o;
    o.mode = mode;
    o.keep_all = true;
    model.forward(weights, x, o, a);
    model.forward(weights, move_sequence(flow, x, nu), o, b);
    EquivarianceCheck check;
    const int batch = int(x.shape[0]), frames = int(x.shape[1]);
    const int height = spec.input.height, width = spec.input.width, nv = spec.copies();
    check.exact = true;
    for (int t = 0; t < frames; ++t) check.exact = check.exact && exact_action(flow, nu, t);
    if (model.classifies()) {
        const Array<T> za = model.logits(a), zb = model.logits(b);
        double d2 = 0, n2 = 0;
        for (size_t i = 0; i < za.data.size(); ++i) {
            d2 += std::pow(double(zb.data[i]) - double(za.data[i]), 2);
            n2 += std::pow(double(za.data[i]), 2);
        }
        check.logits_change = n2 > 0 ? std::sqrt(d2 / n2) : std::sqrt(d2);
    }
    std::vector<int> partner(nv);
    for (int v = 0; v < nv; ++v) {
        partner[v] = nv == 1 ? 0 : copy_minus(flow, v, nu, height, width);
        if (partner[v] >= 0) ++check.compared_copies;
    }
    for (int layer = 0; layer < spec.layers(); ++layer) {
        const Array<T> h = model.hidden_states(a, layer, 0, frames),
                       hm = model.hidden_states(b, layer, 0, frames);
        const int channels = spec.recurrence.layers[layer].channels;
        const int64_t copy = int64_t(channels) * height * width;
        std::vector<T> want(static_cast<size_t>(copy));
        double worst = 0;
        for (int t = 0; t < frames; ++t) {
            double diff2 = 0, norm2 = 0;
            for (int bb = 0; bb < batch; ++bb)
                for (int v = 0; v < nv; ++v) {
                    if (partner[v] < 0) continue;
                    const int64_t step = (int64_t(bb) * frames + t) * nv;
                    act_on_planes(flow, nu, t, h.data.data() + (step + partner[v]) * copy,
                                  want.data(), channels, height, width, flow.field_size());
                    const T *got = hm.data.data() + (step + v) * copy;
                    for (int64_t i = 0; i < copy; ++i) {
                        diff2 += std::pow(double(got[i]) - double(want[i]), 2);
                        norm2 += double(want[i]) * double(want[i]);
                    }
                }
            worst = std::max(worst, norm2 > 0 ? std::sqrt(diff2 / norm2) : std::sqrt(diff2));
        }
        check.layer_error.push_back(worst);
    }
    return check;
}

#define FERNN_EQUIVARIANCE(T)                                                                 \
    template Array<T> move_sequence<T>(const FlowSpec &, const Array<T> &,                    \
                                       const std::vector<int> &);                             \
    template EquivarianceCheck check_equivariance<T>(const SequenceModel<T> &,                \
                                                     const ModelWeights<T> &, const Array<T> &, \
                                                     const std::vector<int> &, Mode);
FERNN_EQUIVARIANCE(float)
FERNN_EQUIVARIANCE(double)

}  // namespace fernn
