#include "generators/pipeline_builder.h"

#include <stdexcept>

namespace fernn::gen {

namespace {

Type element_type(Element e, Type model) {
    switch (e) {
        case Element::Float64:
            return Halide::Float(64);
        case Element::Model:
            return model;
    }
    return model;
}

// Dense strides, min 0, and every extent the spec fixes (all but the batch; none for flat).
template <typename DimOf>
void constrain(DimOf &&dim_of, const TensorType &t, const Geometry &g) {
    const std::vector<int> extents = halide_extents(t, g, 0, 0);
    Expr stride = 1;
    for (size_t i = 0; i < extents.size(); ++i) {
        auto d = dim_of(int(i));
        d.set_min(0);
        d.set_stride(stride);
        const bool batch = t.has_batch() && i + 1 == extents.size();
        if (!batch && t.kind != TensorKind::Flat) {
            d.set_extent(extents[i]);
            stride = stride * extents[i];
        }
    }
}

// The name a Func was given, without the "$n" Halide appends when a process defines a name
// again: argument names must not depend on what else the process built.
std::string base_name(const Func &f) {
    const std::string n = f.name();
    return n.substr(0, n.find('$'));
}

}  // namespace

PipelineBuilder::PipelineBuilder(const ModelPlan &plan, const PipelineSignature &signature,
                                 Type type)
    : plan_(plan), type_(type) {
    def_.signature = signature;
    def_.geometry = plan.geometry;
    for (const Argument &a : signature.inputs) {
        const Type t = element_type(a.type.element, type);
        if (a.type.kind == TensorKind::Scalar) {
            Halide::Param<> p(t, a.name);
            def_.args.push_back(p);
            def_.scalars.push_back(p);
            scalars_[a.name] = p;
            continue;
        }
        Halide::ImageParam p(t, a.type.dimensions(), a.name);
        constrain([&](int i) { return p.dim(i); }, a.type, plan.geometry);
        def_.args.push_back(p);
        def_.images.push_back(p);
        inputs_[a.name] = p;
        if (a.type.has_batch() && !batch_.defined())
            batch_ = p.dim(a.type.dimensions() - 1).extent();
    }
}

Func PipelineBuilder::in(const std::string &name) const {
    auto it = inputs_.find(name);
    if (it == inputs_.end())
        throw std::logic_error(def_.signature.name + " declares no input " + name);
    return Func(it->second);
}

Expr PipelineBuilder::scalar(const std::string &name) const {
    auto it = scalars_.find(name);
    if (it == scalars_.end())
        throw std::logic_error(def_.signature.name + " declares no scalar " + name);
    return it->second;
}

const Argument &PipelineBuilder::find(Source source, int index) const {
    const auto &list = source == Source::Grad || source == Source::BufferNext
                           ? def_.signature.outputs
                           : def_.signature.inputs;
    for (const Argument &a : list)
        if (a.source == source && a.index == index) return a;
    throw std::logic_error(def_.signature.name + " declares no argument for index " +
                           std::to_string(index));
}

Func PipelineBuilder::param(int index) const {
    return in(find(Source::Param, index).name);
}

Func PipelineBuilder::constant(int index) const {
    return in(find(Source::Constant, index).name);
}

Func PipelineBuilder::buffer(int index) const {
    return in(find(Source::Buffer, index).name);
}

Expr PipelineBuilder::batch() const {
    if (!batch_.defined()) throw std::logic_error(def_.signature.name + " has no batched input");
    return batch_;
}

Expr PipelineBuilder::extent(const std::string &name, int dim) const {
    in(name);  // checks it is declared
    return inputs_.at(name).dim(dim).extent();
}

std::string PipelineBuilder::grad_name(int param) const {
    return find(Source::Grad, param).name;
}

std::string PipelineBuilder::buffer_next_name(int buffer) const {
    return find(Source::BufferNext, buffer).name;
}

void PipelineBuilder::out(Func f) {
    const std::string name = base_name(f);
    if (!def_.signature.find_output(name))
        throw std::logic_error(def_.signature.name + " declares no output " + name);
    if (!outputs_.emplace(name, f).second)
        throw std::logic_error(def_.signature.name + ": output " + name + " defined twice");
}

PipelineDef PipelineBuilder::finish() {
    for (const Argument &a : def_.signature.outputs) {
        auto it = outputs_.find(a.name);
        if (it == outputs_.end())
            throw std::logic_error(def_.signature.name + ": declared output " + a.name +
                                   " was not defined");
        Func f = it->second;
        if (f.dimensions() != a.type.dimensions() ||
            f.output_types()[0] != element_type(a.type.element, type_)) {
            throw std::logic_error(def_.signature.name + ": output " + a.name +
                                   " does not have its declared rank or type");
        }
        constrain([&](int i) { return f.output_buffer().dim(i); }, a.type, def_.geometry);
        def_.funcs.push_back(f);
    }
    return std::move(def_);
}

}  // namespace fernn::gen
