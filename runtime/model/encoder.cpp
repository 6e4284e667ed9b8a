#include "runtime/model/encoder.h"

#include <memory>
#include <stdexcept>

#include "runtime/plan/arguments.h"

namespace fernn {

template <typename T>
void EncoderTrace<T>::reset(int batch_, Mode mode_, bool keep_all_, int layers, int recompute_) {
    pool.give(frames);
    for (auto &saved : lifting)
        for (auto &[name, t] : saved) pool.give(std::move(t));
    lifting.clear();
    for (auto &layer : inputs)
        for (auto &saved : layer)
            for (auto &[name, t] : saved) pool.give(std::move(t));
    for (auto &layer : states) pool.give(layer);
    inputs.clear();
    inputs.resize(size_t(layers));
    states.clear();
    states.resize(size_t(layers));
    batch = batch_;
    mode = mode_;
    keep_all = keep_all_;
    recompute = keep_all_ ? recompute_ : 0;
    steps = 0;
}

template <typename T>
GradientSum<T>::GradientSum(const ModelLibrary &lib, Parameters<T> &grads)
    : lib_(lib), grads_(grads), step_(lib), spare_(lib), in_spare_(grads.count(), 0) {
    grads_.fill(T(0));
}

template <typename T>
void GradientSum<T>::add(size_t i, Parameters<T> &addend) {
    Parameters<T> &from = in_spare_[i] ? spare_ : grads_, &to = in_spare_[i] ? grads_ : spare_;
    const ModelPlan &plan = lib_.plan();
    lib_.call(plan.pipeline(plan.optimizer, Op::GradAccumulate))
        .bind(arg::acc, *from.flat_tensor(i).buffer())
        .bind(arg::step, *addend.flat_tensor(i).buffer())
        .bind(arg::sum, *to.flat_tensor(i).buffer())
        .run();
    in_spare_[i] ^= 1;
}

template <typename T>
void GradientSum<T>::accumulate(const PipelineSignature &signature) {
    for (const Argument &a : signature.outputs)
        if (a.source == Source::Grad) add(size_t(a.index), step_);
}

template <typename T>
void GradientSum<T>::finish() {
    // Sums that ended in the spare buffer move to grads (adding zeros).
    bool moved = false;
    for (int s : in_spare_) moved |= s != 0;
    if (!moved) return;
    step_.fill(T(0));
    for (size_t i = 0; i < in_spare_.size(); ++i)
        if (in_spare_[i]) add(i, step_);
}

template <typename T>
Tensor<T> Encoder<T>::stack_forward(EncoderTrace<T> &trace, int block, Tensor<T> &in,
                                    Parameters<T> &params, Statistics<T> *stats,
                                    Saved<T> *saved) const {
    const bool train = trace.mode == Mode::Train;
    const Op op =
        train || !plan_.has(block, Op::StackForwardEval) ? Op::StackForward : Op::StackForwardEval;
    const PipelineSignature &sig = plan_.pipeline(block, op);
    const PipelineSignature &backward = plan_.pipeline(block, Op::StackBackward);
    Binder<T> call(lib_, sig);
    call.data(arg::in, in).params(params);
    bool reads_stats = false;
    for (const Argument &a : sig.inputs) reads_stats |= a.source == Source::Buffer;
    if (reads_stats) {
        if (!stats) throw std::logic_error(sig.name + " needs BatchNorm statistics");
        call.stats(*stats);
    }
    Saved<T> outputs;
    for (const Argument &a : sig.outputs) {
        if (a.source == Source::Data) outputs[a.name] = take(trace.pool, lib_, a.type, trace.batch);
    }
    for (auto &[name, t] : outputs) call.data(name, t);
    call.run();
    Tensor<T> out = std::move(outputs.at(arg::out));
    // What the backward reads is kept (training traces only); the rest is pooled.
    const bool keep = saved && train;
    for (auto &[name, t] : outputs) {
        if (name == arg::out) continue;
        if (keep && backward.find_input(name)) {
            (*saved)[name] = std::move(t);
        } else {
            trace.pool.give(std::move(t));
        }
    }
    if (keep && backward.find_input(arg::out)) {
        // The trace owns the output; the caller gets a view (pooling a view does nothing).
        Tensor<T> view = out.view(0, out.extents());
        (*saved)[arg::out] = std::move(out);
        return view;
    }
    return out;
}

template <typename T>
void Encoder<T>::run_step(EncoderTrace<T> &trace, int t, Parameters<T> &params,
                          Statistics<T> *stats, bool save) const {
    const int layers = int(plan_.cells.size());
    Tensor<T> x = stack_forward(trace, plan_.lifting, trace.frames[size_t(t)], params, stats,
                                save ? &trace.lifting[size_t(t)] : nullptr);
    for (int l = 0; l < layers; ++l) {
        if (l > 0) {
            Tensor<T> &h_below = trace.states[size_t(l - 1)][size_t(t)];
            Tensor<T> below = h_below.view(0, h_below.extents());
            Tensor<T> in = stack_forward(trace, plan_.layer_inputs[l], below, params, stats,
                                         save ? &trace.inputs[size_t(l)][size_t(t)] : nullptr);
            trace.pool.give(std::move(x));
            x = std::move(in);
        }
        const bool first = t == 0;
        const PipelineSignature &sig =
            plan_.pipeline(plan_.cells[l], first ? Op::CellForwardFirst : Op::CellForward);
        Tensor<T> next = take(trace.pool, lib_, sig.find_output(arg::h_next)->type, trace.batch);
        Binder<T> call(lib_, sig);
        call.data(arg::x, x).data(arg::h_next, next);
        if (!first) call.data(arg::h_prev, trace.states[size_t(l)][size_t(t - 1)]).params(params);
        call.run();
        // A recomputed step replaces the state the forward kept (the same values).
        Tensor<T> &slot = trace.states[size_t(l)][size_t(t)];
        trace.pool.give(std::move(slot));
        slot = std::move(next);
    }
    trace.pool.give(std::move(x));
    if (trace.mode == Mode::Train && stats && !stats->empty()) stats->advance();
}

template <typename T>
void Encoder<T>::step(EncoderTrace<T> &trace, Tensor<T> frame, Parameters<T> &params,
                      Statistics<T> *stats) const {
    const int t = trace.steps;
    trace.frames.push_back(std::move(frame));
    trace.lifting.emplace_back();
    for (auto &layer : trace.inputs) layer.emplace_back();
    for (auto &layer : trace.states) layer.emplace_back();
    run_step(trace, t, params, stats, trace.keep_all && trace.recompute == 0);
    ++trace.steps;
    // What later steps no longer read: the state before, unless kept for the backward, and
    // without keep_all the frame before.
    if (t == 0) return;
    if (!trace.keeps_state(t - 1))
        for (auto &layer : trace.states) trace.pool.give(std::move(layer[size_t(t - 1)]));
    if (!trace.keep_all) trace.pool.give(std::move(trace.frames[size_t(t - 1)]));
}

template <typename T>
void Encoder<T>::stack_backward(EncoderTrace<T> &trace, int block, Tensor<T> &in, Saved<T> &saved,
                                Tensor<T> &d_out, Tensor<T> *d_in, Parameters<T> &params,
                                GradientSum<T> &grads) const {
    const PipelineSignature &sig = plan_.pipeline(block, Op::StackBackward);
    Binder<T> call(lib_, sig);
    call.data(arg::in, in).data(arg::d_out, d_out).params(params).grads(grads.step());
    for (const Argument &a : sig.inputs) {
        if (a.source != Source::Data || a.name == arg::in || a.name == arg::d_out) continue;
        auto it = saved.find(a.name);
        if (it == saved.end()) throw std::logic_error(sig.name + ": the trace holds no " + a.name);
        call.data(a.name, it->second);
    }
    if (d_in) call.data(arg::d_in, *d_in);
    call.run();
    grads.accumulate(sig);
}

template <typename T>
void Encoder<T>::backward_step(EncoderTrace<T> &trace, int t, Parameters<T> &params,
                               GradientSum<T> &grads, const HeadGradient &head,
                               std::vector<Tensor<T>> &carry, std::vector<Tensor<T>> &total) const {
    const int layers = int(plan_.cells.size()), top = layers - 1;
    const PipelineSignature &add = plan_.pipeline(plan_.optimizer, Op::GradAccumulate);
    auto flat = [](Tensor<T> &x) { return x.view(0, {int(x.size())}); };
    auto state = [&](int l, int step) -> Tensor<T> & {
        Tensor<T> &h = trace.states[size_t(l)][size_t(step)];
        if (h.size() == 0) throw std::logic_error("backward: the trace holds no state for a step");
        return h;
    };
    if (!head(t, state(top, t), carry[top], total[top])) std::swap(carry[top], total[top]);
    for (int l = top; l >= 0; --l) {
        const bool first = t == 0;
        const PipelineSignature &sig =
            plan_.pipeline(plan_.cells[l], first ? Op::CellBackwardFirst : Op::CellBackward);
        Tensor<T> d_x = take(trace.pool, lib_, sig.find_output(arg::d_x)->type, trace.batch);
        Binder<T> call(lib_, sig);
        call.data(arg::h_next, state(l, t)).data(arg::d_h_next, total[l]).data(arg::d_x, d_x);
        if (!first) {
            call.data(arg::h_prev, state(l, t - 1))
                .data(arg::d_h_prev, carry[l])
                .params(params)
                .grads(grads.step());
        }
        call.run();
        grads.accumulate(sig);
        if (l > 0) {
            const int block = plan_.layer_inputs[l];
            const TensorType &below =
                plan_.pipeline(block, Op::StackBackward).find_output(arg::d_in)->type;
            Tensor<T> d_in = take(trace.pool, lib_, below, trace.batch);
            stack_backward(trace, block, state(l - 1, t), trace.inputs[size_t(l)][size_t(t)], d_x,
                           &d_in, params, grads);
            // Layer l-1's total at step t: its carry plus what layer l's input passed down.
            Tensor<T> c = flat(carry[l - 1]), d = flat(d_in), s = flat(total[l - 1]);
            lib_.call(add)
                .bind(arg::acc, *c.buffer())
                .bind(arg::step, *d.buffer())
                .bind(arg::sum, *s.buffer())
                .run();
            trace.pool.give(std::move(d_in));
        } else {
            stack_backward(trace, plan_.lifting, trace.frames[size_t(t)], trace.lifting[size_t(t)],
                           d_x, nullptr, params, grads);
        }
        trace.pool.give(std::move(d_x));
    }
}

template <typename T>
void Encoder<T>::backward(EncoderTrace<T> &trace, Parameters<T> &params, GradientSum<T> &grads,
                          const HeadGradient &head) const {
    if (!trace.keep_all || trace.mode != Mode::Train)
        throw std::logic_error("backward needs a training trace made with keep_all");
    const int layers = int(plan_.cells.size());
    // carry[l]: dL/dh_l from later steps; total[l]: carry plus what the step adds.
    std::vector<Tensor<T>> carry, total;
    for (int l = 0; l < layers; ++l) {
        const TensorType &type =
            plan_.pipeline(plan_.cells[l], Op::CellForward).find_output(arg::h_next)->type;
        carry.push_back(take(trace.pool, lib_, type, trace.batch));
        total.push_back(take(trace.pool, lib_, type, trace.batch));
        carry.back().fill(T(0));
    }
    const int K = trace.recompute;
    // A recomputed step normalizes with its batch's statistics as the forward did; the running
    // estimates it would move again go to a copy that is thrown away.
    std::unique_ptr<Statistics<T>> scratch;
    if (K > 0) scratch = std::make_unique<Statistics<T>>(lib_);
    Statistics<T> *replay_stats = scratch && !scratch->empty() ? scratch.get() : nullptr;
    // Segments [begin, end), last first; without recomputation one segment of every step.
    for (int end = trace.steps; end > 0;) {
        const int begin = K > 0 ? (end - 1) / K * K : 0;
        for (int t = begin; K > 0 && t < end; ++t) run_step(trace, t, params, replay_stats, true);
        for (int t = end - 1; t >= begin; --t)
            backward_step(trace, t, params, grads, head, carry, total);
        if (K > 0) {
            // The segment's recomputed states and activations go back to the pool for the next.
            for (int t = begin; t < end; ++t) {
                for (auto &[name, x] : trace.lifting[size_t(t)]) trace.pool.give(std::move(x));
                trace.lifting[size_t(t)].clear();
                for (int l = 0; l < layers; ++l) {
                    for (auto &[name, x] : trace.inputs[size_t(l)][size_t(t)])
                        trace.pool.give(std::move(x));
                    trace.inputs[size_t(l)][size_t(t)].clear();
                    if (!trace.keeps_state(t))
                        trace.pool.give(std::move(trace.states[size_t(l)][size_t(t)]));
                }
            }
        }
        end = begin;
    }
    trace.pool.give(carry);
    trace.pool.give(total);
}

template <typename T>
Array<T> Encoder<T>::states(EncoderTrace<T> &trace, int layer, int first, int count) const {
    const auto &hs = trace.states.at(size_t(layer));
    bool held = trace.keep_all && first >= 0 && first + count <= int(hs.size());
    for (int t = first; held && t < first + count; ++t) held = hs[size_t(t)].size() > 0;
    if (!held) throw std::logic_error("states: the trace does not hold those steps");
    const Geometry &g = plan_.geometry;
    const int64_t B = trace.batch, V = g.copies, H = g.height, W = g.width;
    const int64_t C = count > 0 ? hs[size_t(first)].extents()[0] : 0;
    Array<T> out({B, count, V, C, H, W});
    for (int64_t t = 0; t < count; ++t) {
        Tensor<T> &state = trace.states[size_t(layer)][size_t(first + t)];
        state.download_to_mirror();
        const T *h = state.host();
        for (int64_t b = 0; b < B; ++b)
            for (int64_t v = 0; v < V; ++v)
                for (int64_t y = 0; y < H; ++y)
                    for (int64_t x = 0; x < W; ++x)
                        for (int64_t c = 0; c < C; ++c)
                            out.data[(((((b * count + t) * V + v) * C + c) * H + y) * W) + x] =
                                h[(((b * V + v) * H + y) * W + x) * C + c];
    }
    return out;
}

template void EncoderTrace<float>::reset(int, Mode, bool, int, int);
template void EncoderTrace<double>::reset(int, Mode, bool, int, int);
template class GradientSum<float>;
template class GradientSum<double>;
template class Encoder<float>;
template class Encoder<double>;

}  // namespace fernn
