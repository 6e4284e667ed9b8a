#include "runtime/model/heads/head.h"

#include <map>
#include <stdexcept>

#include "runtime/model/heads/classes_head.h"
#include "runtime/model/heads/frames_head.h"

namespace fernn {

template <typename T>
void Head<T>::check_sequence(const ArrayView<T> &a, const char *what, int frames) const {
    const InputSpec &s = spec().input;
    // frames < 0: any number of frames >= 1.
    const bool ok = a.shape.size() == 5 && a.shape[0] >= 1 &&
                    (frames < 0 ? a.shape[1] >= 1 : a.shape[1] == frames) &&
                    a.shape[2] == s.channels && a.shape[3] == s.height && a.shape[4] == s.width;
    if (!ok) {
        throw InputError(std::string(what) + " has shape " + shape_text(a.shape) + "; spec " +
                         spec().name + " needs (B, " +
                         (frames >= 0 ? std::to_string(frames) : std::string("T >= 1")) + ", " +
                         std::to_string(s.channels) + ", " + std::to_string(s.height) + ", " +
                         std::to_string(s.width) + ") with B >= 1");
    }
}

template <typename T>
Tensor<T> Head<T>::frame_at(const ArrayView<T> &seq, int t, TensorPool<T> &pool) const {
    const InputSpec &s = spec().input;
    const int64_t B = seq.shape[0], Tn = seq.shape[1], C = s.channels, H = s.height, W = s.width;
    AlignedVector<T> host(B * C * H * W);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
                for (int64_t x = 0; x < W; ++x)
                    host[((b * H + y) * W + x) * C + c] =
                        seq.data[(((b * Tn + t) * C + c) * H + y) * W + x];
    Tensor<T> frame = take(pool, lib_, TensorType::frame(int(C)), int(B));
    frame.upload(host.data());
    return frame;
}

template <typename T>
std::unique_ptr<Head<T>> make_head(const ModelLibrary &lib, const Encoder<T> &encoder) {
    using Make = std::unique_ptr<Head<T>> (*)(const ModelLibrary &, const Encoder<T> &);
    // The one table of heads, by readout kind.
    static const std::map<std::string, Make> heads = {
        {"frames",
         [](const ModelLibrary &l, const Encoder<T> &e) -> std::unique_ptr<Head<T>> {
             return std::make_unique<FramesHead<T>>(l, e);
         }},
        {"classes",
         [](const ModelLibrary &l, const Encoder<T> &e) -> std::unique_ptr<Head<T>> {
             return std::make_unique<ClassesHead<T>>(l, e);
         }},
    };
    auto it = heads.find(lib.spec().readout.kind);
    if (it == heads.end()) throw std::logic_error("no head for " + lib.spec().readout.kind);
    return it->second(lib, encoder);
}

template class Head<float>;
template class Head<double>;
template std::unique_ptr<Head<float>> make_head(const ModelLibrary &, const Encoder<float> &);
template std::unique_ptr<Head<double>> make_head(const ModelLibrary &, const Encoder<double> &);

}  // namespace fernn
