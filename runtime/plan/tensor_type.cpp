#include "runtime/plan/tensor_type.h"

#include <stdexcept>

namespace fernn {

TensorType TensorType::frame(int channels) {
    return TensorType{TensorKind::Frame, channels, {}, Element::Model};
}
TensorType TensorType::hidden(int channels) {
    return TensorType{TensorKind::Hidden, channels, {}, Element::Model};
}
TensorType TensorType::features(int channels) {
    return TensorType{TensorKind::Features, channels, {}, Element::Model};
}
TensorType TensorType::fixed(std::vector<int64_t> shape, Element element) {
    return TensorType{TensorKind::Fixed, 0, std::move(shape), element};
}
TensorType TensorType::flat() {
    return TensorType{TensorKind::Flat, 0, {}, Element::Model};
}
TensorType TensorType::scalar(Element element) {
    return TensorType{TensorKind::Scalar, 0, {}, element};
}

int TensorType::dimensions() const {
    switch (kind) {
        case TensorKind::Frame:
            return 4;
        case TensorKind::Hidden:
            return 5;
        case TensorKind::Features:
            return 2;
        case TensorKind::Fixed:
            return static_cast<int>(shape.size());
        case TensorKind::Flat:
            return 1;
        case TensorKind::Scalar:
            return 0;
    }
    return 0;
}

bool TensorType::has_batch() const {
    return kind == TensorKind::Frame || kind == TensorKind::Hidden ||
           kind == TensorKind::Features;
}

bool TensorType::operator==(const TensorType &o) const {
    return kind == o.kind && channels == o.channels && shape == o.shape && element == o.element;
}

std::string TensorType::kind_name() const {
    static const char *names[] = {"frame", "hidden", "features", "fixed", "flat", "scalar"};
    return names[static_cast<int>(kind)];
}

json TensorType::to_json() const {
    json j{{"kind", kind_name()}};
    if (kind == TensorKind::Frame || kind == TensorKind::Hidden || kind == TensorKind::Features)
        j["channels"] = channels;
    if (kind == TensorKind::Fixed) j["shape"] = shape;
    if (element != Element::Model) j["element"] = "float64";
    return j;
}

std::vector<int> halide_extents(const TensorType &t, const Geometry &g, int batch, int64_t length) {
    switch (t.kind) {
        case TensorKind::Frame:
            return {t.channels, g.width, g.height, batch};
        case TensorKind::Hidden:
            return {t.channels, g.width, g.height, g.copies, batch};
        case TensorKind::Features:
            return {t.channels, batch};
        case TensorKind::Fixed: {
            std::vector<int> out;
            for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it)
                out.push_back(static_cast<int>(*it));
            return out;
        }
        case TensorKind::Flat:
            return {static_cast<int>(length)};
        case TensorKind::Scalar:
            return {};
    }
    throw std::logic_error("halide_extents: unknown tensor kind");
}

}  // namespace fernn
