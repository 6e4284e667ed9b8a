#include "generators/tensors.h"

namespace fernn::gen {

Shape shape_of(const Spec &spec) {
    return Shape{spec.in_channels, spec.hidden, spec.out_channels,
                 spec.height,      spec.width,  spec.num_velocities()};
}

namespace {

// Applies extents (all dims but the last, which is the run-time batch) and dense strides.
template <typename Dimensioned>
void dense(Dimensioned &&dim_of, const std::vector<int> &extents) {
    Expr stride = 1;
    for (size_t i = 0; i < extents.size(); ++i) {
        auto d = dim_of(static_cast<int>(i));
        d.set_stride(stride);
        d.set_min(0);
        if (extents[i] > 0) {
            d.set_extent(extents[i]);
            stride = stride * extents[i];
        }
    }
}

}  // namespace

Halide::ImageParam frame_input(const std::string &name, Type type, int channels, const Shape &s) {
    Halide::ImageParam p(type, 4, name);
    dense([&](int i) { return p.dim(i); }, {channels, s.width, s.height, 0});
    return p;
}

Halide::ImageParam hidden_input(const std::string &name, Type type, const Shape &s) {
    Halide::ImageParam p(type, 5, name);
    dense([&](int i) { return p.dim(i); }, {s.hidden, s.width, s.height, s.velocities, 0});
    return p;
}

Halide::ImageParam weight_input(const ParamInfo &param, Type type) {
    Halide::ImageParam p(type, 4, argument_name(param.name));
    // OIHW: (kx, ky, ci, co) innermost first.
    dense([&](int i) { return p.dim(i); },
          {int(param.shape[3]), int(param.shape[2]), int(param.shape[1]), int(param.shape[0])});
    return p;
}

void constrain_frame_output(Func &f, int channels, const Shape &s) {
    dense([&](int i) { return f.output_buffer().dim(i); }, {channels, s.width, s.height, 0});
}

void constrain_hidden_output(Func &f, const Shape &s) {
    dense([&](int i) { return f.output_buffer().dim(i); },
          {s.hidden, s.width, s.height, s.velocities, 0});
}

void constrain_weight_output(Func &f, const ParamInfo &param) {
    dense([&](int i) { return f.output_buffer().dim(i); },
          {int(param.shape[3]), int(param.shape[2]), int(param.shape[1]), int(param.shape[0])});
}

}  // namespace fernn::gen
