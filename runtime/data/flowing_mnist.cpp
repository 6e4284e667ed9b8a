#include "runtime/data/flowing_mnist.h"

#include <algorithm>

#include "runtime/data/rng.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

FlowingMnist::FlowingMnist(const DigitSet &digits, FlowingMnistConfig config, uint64_t seed,
                           uint64_t stream)
    : digits_(digits), config_(config), seed_(seed), stream_(stream) {
    if (config_.height < digits_.height || config_.width < digits_.width) {
        throw InputError("Flowing MNIST needs frames at least as large as the digits (" +
                         std::to_string(digits_.height) + "x" + std::to_string(digits_.width) +
                         "); the spec's frames are " + std::to_string(config_.height) + "x" +
                         std::to_string(config_.width));
    }
}

SequenceRecipe FlowingMnist::recipe(uint64_t index) const {
    SplitMix64 rng = SplitMix64::stream(seed_, stream_, index);
    SequenceRecipe r;
    for (int n = 0; n < config_.digits; ++n)
        r.digit.push_back(int(rng.integer(0, digits_.count - 1)));
    const int d = config_.velocity_range;
    for (int n = 0; n < config_.digits; ++n) {
        if (config_.fixed_velocity) {
            r.vx.push_back(config_.fixed_velocity->first);
            r.vy.push_back(config_.fixed_velocity->second);
        } else {
            r.vx.push_back(int(rng.integer(-d, d)));
            r.vy.push_back(int(rng.integer(-d, d)));
        }
        r.x0.push_back(int(rng.integer(0, config_.width - 1)));
        r.y0.push_back(int(rng.integer(0, config_.height - 1)));
    }
    return r;
}

void FlowingMnist::render(const SequenceRecipe &r, float *out) const {
    const int H = config_.height, W = config_.width, h = digits_.height, w = digits_.width;
    const int pad_y = (H - h) / 2, pad_x = (W - w) / 2;
    auto wrap = [](long long i, int n) { return int(((i % n) + n) % n); };
    std::fill(out, out + size_t(config_.frames) * H * W, 0.0f);
    for (int t = 0; t < config_.frames; ++t) {
        float *frame = out + size_t(t) * H * W;
        for (size_t n = 0; n < r.digit.size(); ++n) {
            const uint8_t *img = digits_.image(r.digit[n]);
            const long long sy = r.y0[n] + (long long)r.vy[n] * t,
                            sx = r.x0[n] + (long long)r.vx[n] * t;
            for (int y = 0; y < h; ++y) {
                const int ty = wrap(pad_y + y + sy, H);
                for (int x = 0; x < w; ++x) {
                    const uint8_t v = img[y * w + x];
                    if (v) frame[ty * W + wrap(pad_x + x + sx, W)] += v / 255.0f;
                }
            }
        }
        for (int i = 0; i < H * W; ++i) frame[i] = std::min(frame[i], 1.0f);  // sums are >= 0
    }
}

Array<float> FlowingMnist::batch(uint64_t first, int count,
                          const std::function<void(const SequenceRecipe &)> &seen) const {
    Array<float> out({count, config_.frames, 1, config_.height, config_.width});
    const size_t per = size_t(config_.frames) * config_.height * config_.width;
    for (int i = 0; i < count; ++i) {
        const SequenceRecipe r = recipe(first + uint64_t(i));
        if (seen) seen(r);
        render(r, out.data.data() + per * size_t(i));
    }
    return out;
}

}  // namespace fernn
