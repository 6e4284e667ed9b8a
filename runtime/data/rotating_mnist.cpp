#include "runtime/data/rotating_mnist.h"

#include <algorithm>
#include <cmath>

#include "runtime/data/rng.h"
#include "runtime/groups/turn.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

RotatingMnist::RotatingMnist(const DigitSet &digits, RotatingMnistConfig config, uint64_t seed,
                             uint64_t stream)
    : digits_(digits), config_(std::move(config)), seed_(seed), stream_(stream) {
    if (digits_.height != digits_.width) {
        throw InputError(digits_.file + ": Rotating MNIST needs square digits; these are " +
                         std::to_string(digits_.height) + "x" + std::to_string(digits_.width));
    }
    if (config_.velocities.empty() && !config_.fixed_velocity)
        throw InputError("Rotating MNIST needs at least one angular velocity");
    // The reference pads a 28-pixel digit by ceil(28·√2/2) − 14 (its constants): a digit turned
    // by 45° still fits. Other digit sizes get the same rule.
    const int h = digits_.height;
    pad_ = int(std::ceil(h * std::sqrt(2.0) / 2.0) - h / 2);
}

RotationRecipe RotatingMnist::recipe(uint64_t index) const {
    SplitMix64 rng = SplitMix64::stream(seed_, stream_, index);
    RotationRecipe r;
    for (int n = 0; n < config_.digits; ++n)
        r.digit.push_back(int(rng.integer(0, digits_.count - 1)));
    const auto &v = config_.velocities;
    for (int n = 0; n < config_.digits; ++n) {
        r.omega.push_back(config_.fixed_velocity
                              ? *config_.fixed_velocity
                              : v[size_t(rng.integer(0, int64_t(v.size()) - 1))]);
        r.theta0.push_back(360.0 * rng.uniform());
    }
    return r;
}

void RotatingMnist::render(const RotationRecipe &r, float *out) const {
    const int S = config_.size, h = digits_.height, P = h + 2 * pad_;
    // Where the turned P×P digit lands in the frame: centred, cropped when the frame is smaller.
    const int offset = S <= P ? -((P - S) / 2) : (S - P) / 2;
    const double c = (P - 1) / 2.0;
    std::fill(out, out + size_t(config_.frames) * S * S, 0.0f);
    for (int t = 0; t < config_.frames; ++t) {
        float *frame = out + size_t(t) * S * S;
        for (size_t n = 0; n < r.digit.size(); ++n) {
            const uint8_t *img = digits_.image(r.digit[n]);
            const double angle = (r.theta0[n] + double(r.omega[n]) * t) * M_PI / 180.0;
            const Turn turn{std::cos(angle), std::sin(angle)};
            // The padded digit's pixel (x, y), zero outside the digit.
            auto at = [&](int x, int y) -> double {
                const int dx = x - pad_, dy = y - pad_;
                if (dx < 0 || dx >= h || dy < 0 || dy >= h) return 0.0;
                return img[dy * h + dx] / 255.0;
            };
            for (int fy = 0; fy < S; ++fy) {
                const int y = fy - offset;
                if (y < 0 || y >= P) continue;
                for (int fx = 0; fx < S; ++fx) {
                    const int x = fx - offset;
                    if (x < 0 || x >= P) continue;
                    frame[fy * S + fx] += float(sample_turned(at, x, y, turn, c, c));
                }
            }
        }
        for (int i = 0; i < S * S; ++i) frame[i] = std::min(std::max(frame[i], 0.0f), 1.0f);
    }
}

Array<float> RotatingMnist::batch(uint64_t first, int count,
                          const std::function<void(const RotationRecipe &)> &seen) const {
    Array<float> out({count, config_.frames, 1, config_.size, config_.size});
    const size_t per = size_t(config_.frames) * config_.size * config_.size;
    for (int i = 0; i < count; ++i) {
        const RotationRecipe r = recipe(first + uint64_t(i));
        if (seen) seen(r);
        render(r, out.data.data() + per * size_t(i));
    }
    return out;
}

}  // namespace fernn
