#include "runtime/formats/array.h"

#include <cstring>

namespace fernn {

std::string shape_text(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

template <typename T>
void decode_floats(const char *src, size_t item_size, AlignedVector<T> &out) {
    for (size_t i = 0; i < out.size(); ++i) {
        if (item_size == 4) {
            float f;
            std::memcpy(&f, src + 4 * i, 4);
            out[i] = static_cast<T>(f);
        } else {
            double d;
            std::memcpy(&d, src + 8 * i, 8);
            out[i] = static_cast<T>(d);
        }
    }
}

template void decode_floats<float>(const char *, size_t, AlignedVector<float> &);
template void decode_floats<double>(const char *, size_t, AlignedVector<double> &);

}  // namespace fernn
