// Rotating MNIST, generated on the fly as the paper's reference
// (rotating_mnist_fp/rotating_mnist_dataset.py): each sequence overlays `digits` digits, each
// padded by 6 pixels to 40×40, turned about its centre by θ0 + ω·t degrees (counter-clockwise
// as displayed; bilinear, zeros outside; grid_sample with align_corners=True), cropped back to
// the frame (centred), summed and clamped to [0, 1]. Per sequence, drawn in the reference's
// order: the digits, then per digit ω from the angular velocities and θ0 uniform in [0, 360).
// Pixels are bytes/255 as torchvision's ToTensor gives them.
//
// Sequence i of a stream is a pure function of (seed, stream, i), as Flowing MNIST's.
#pragma once

#include <functional>
#include <optional>

#include "runtime/data/digits.h"
#include "runtime/formats/array.h"

namespace fernn {

struct RotatingMnistConfig {
    int frames = 20, size = 28, digits = 2;
    std::vector<int> velocities{-40, -30, -20, -10, 0, 10, 20, 30, 40};  // degrees per step
    // When set, every digit of every sequence turns at this ω (velocity generalization).
    std::optional<int> fixed_velocity;
};

struct RotationRecipe {
    std::vector<int> digit, omega;
    std::vector<double> theta0;  // degrees
};

class RotatingMnist {
  public:
    using Config = RotatingMnistConfig;

    RotatingMnist(const DigitSet &digits, RotatingMnistConfig config, uint64_t seed,
                  uint64_t stream);

    RotationRecipe recipe(uint64_t index) const;
    // Writes the (frames, 1, size, size) sequence into out.
    void render(const RotationRecipe &recipe, float *out) const;
    // Sequences first .. first+count-1 as (count, frames, 1, size, size).
    // `seen`, when given, gets each sequence's recipe (e.g. for its labels) as it is drawn.
    Array<float> batch(uint64_t first, int count,
                       const std::function<void(const RotationRecipe &)> &seen = nullptr) const;

    const RotatingMnistConfig &config() const { return config_; }

  private:
    const DigitSet &digits_;
    RotatingMnistConfig config_;
    uint64_t seed_, stream_;
    int pad_;  // the reference's ceil(28·√2/2) − 14 = 6 pixels around each digit
};

}  // namespace fernn
