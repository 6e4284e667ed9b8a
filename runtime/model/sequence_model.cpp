#include "runtime/model/sequence_model.h"

#include <stdexcept>

namespace fernn {

template <typename T>
SequenceModel<T>::SequenceModel(std::shared_ptr<const ModelLibrary> library)
    : lib_(std::move(library)), encoder_(*lib_) {
    if (lib_->is_float64() != (sizeof(T) == 8)) {
        throw InputError(lib_->dir() + ": the model was compiled for " +
                         (lib_->is_float64() ? "float64" : "float32") + " but is run as " +
                         (sizeof(T) == 8 ? "float64" : "float32"));
    }
    head_ = make_head<T>(*lib_, encoder_);
}

template <typename T>
const FramesHead<T> &SequenceModel<T>::frames() const {
    auto *h = dynamic_cast<const FramesHead<T> *>(head_.get());
    if (!h) throw std::logic_error(spec().name + " does not predict frames");
    return *h;
}

template <typename T>
const ClassesHead<T> &SequenceModel<T>::classes() const {
    auto *h = dynamic_cast<const ClassesHead<T> *>(head_.get());
    if (!h) throw std::logic_error(spec().name + " is not a classifier");
    return *h;
}

template <typename T>
void SequenceModel<T>::forward(Parameters &params, Statistics *stats,
                               const ArrayView<T> &inputs, const Options &o, Trace &tr) const {
    const InputSpec &s = spec().input;
    // B and T within the spec's own limits (training.batch, sequence.input_frames): the trace
    // indexes them with int.
    const bool ok = inputs.shape.size() == 5 && inputs.shape[0] >= 1 &&
                    inputs.shape[0] <= kMaxBatch && inputs.shape[1] >= 1 &&
                    inputs.shape[1] <= kMaxFrames && inputs.shape[2] == s.channels && inputs.shape[3] == s.height &&
                    inputs.shape[4] == s.width;
    if (!ok) {
        throw InputError("input has shape " + shape_text(inputs.shape) + "; spec " + spec().name +
                         " needs (B, T, " + std::to_string(s.channels) + ", " +
                         std::to_string(s.height) + ", " + std::to_string(s.width) +
                         ") with B in 1.." + std::to_string(kMaxBatch) + " and T in 1.." +
                         std::to_string(kMaxFrames));
    }
    if (!classifies() && o.t_out < 0)
        throw InputError("the number of predicted frames must be >= 0");
    if (o.recompute < 0) throw InputError("the recomputation segment must be >= 0 steps");
    tr.recycle(int(inputs.shape[0]), o.mode, o.keep_all, spec().layers(), o.recompute);
    tr.t_in = int(inputs.shape[1]);
    tr.t_out = classifies() ? 0 : o.t_out;
    head_->forward(params, stats, inputs, o, tr);
}

template <typename T>
double SequenceModel<T>::loss(Trace &tr, const ArrayView<T> &targets) const {
    return frames().loss(tr, targets);
}

template <typename T>
Array<T> SequenceModel<T>::predictions(Trace &tr) const {
    return frames().predictions(tr);
}

template <typename T>
typename SequenceModel<T>::ClassScores SequenceModel<T>::class_scores(
    Trace &tr, const std::vector<int64_t> &labels) const {
    return classes().scores(tr, labels);
}

template <typename T>
Array<T> SequenceModel<T>::logits(Trace &tr) const {
    return classes().logits(tr);
}

std::vector<int64_t> output_shape(const Spec &spec, int64_t batch, int64_t t_out) {
    if (spec.readout.kind == "classes") return {batch, spec.readout.classes.classes};
    return {batch, t_out, spec.readout.frames.channels, spec.input.height, spec.input.width};
}

template <typename T>
std::vector<int64_t> SequenceModel<T>::output_shape(const Trace &tr) const {
    return fernn::output_shape(spec(), tr.batch, tr.t_out);
}

template <typename T>
void SequenceModel<T>::outputs(Trace &tr, T *out) const {
    if (classifies()) {
        classes().logits(tr, out);
    } else {
        frames().predictions(tr, out);
    }
}

template <typename T>
double SequenceModel<T>::backward(Parameters &params, const Targets<T> &targets, Trace &tr,
                                  Parameters &grads) const {
    if (!tr.keep_all || tr.mode != Mode::Train)
        throw std::logic_error("backward needs a training-mode forward trace made with keep_all");
    const double loss = head_->loss_gradient(tr, targets);
    GradientSum<T> sum(*lib_, grads);
    head_->backward(params, tr, sum);
    sum.finish();
    return loss;
}

template <typename T>
void SequenceModel<T>::backward(Parameters &params, const ArrayView<T> &output_gradient,
                                Trace &tr, Parameters &grads) const {
    if (!tr.keep_all || tr.mode != Mode::Train)
        throw std::logic_error("backward needs a training-mode forward trace made with keep_all");
    head_->set_output_gradient(tr, output_gradient);
    GradientSum<T> sum(*lib_, grads);
    head_->backward(params, tr, sum);
    sum.finish();
}

template <typename T>
Array<T> SequenceModel<T>::hidden_states(Trace &tr, int layer, int first, int count) const {
    return encoder_.states(tr, layer, first, count);
}

template <typename T>
void SequenceModel<T>::forward(const ModelWeights<T> &w, const Array<T> &inputs, const Options &o,
                               Trace &trace) const {
    Parameters p(*lib_);
    p.upload(w.params);
    Statistics s(*lib_);
    s.upload(w.stats);
    forward(p, &s, inputs, o, trace);
}

template <typename T>
double SequenceModel<T>::backward(const ModelWeights<T> &w, const Targets<T> &targets, Trace &trace,
                                  ParameterSet<T> &grads) const {
    Parameters p(*lib_), g(*lib_);
    p.upload(w.params);
    const double loss = backward(p, targets, trace, g);
    grads = ParameterSet<T>::zeros(plan());
    g.download(grads);
    return loss;
}

template class SequenceModel<float>;
template class SequenceModel<double>;

}  // namespace fernn
