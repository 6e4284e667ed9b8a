// Flowing MNIST, generated on the fly exactly as the paper's reference
// (moving_mnist_fp/moving_mnist_dataset.py): each sequence overlays `digits` digits on a
// frame, each digit padded to the frame size (centered, extra on the right/bottom), with its
// own integer velocity drawn uniformly from [-d, d]² and a uniform start offset; frame t rolls
// each digit by (y0 + vy·t, x0 + vx·t) with wrap-around, sums them and clamps to [0, 1].
// Pixels are bytes/255 as torchvision's ToTensor gives them.
//
// Sequence i of a stream is a pure function of (seed, stream, i): batches can be generated in
// any order, in parallel, and a resumed run sees exactly the same data.
#pragma once

#include <functional>
#include <optional>
#include <utility>

#include "runtime/data/digits.h"
#include "runtime/formats/array.h"

namespace fernn {

struct FlowingMnistConfig {
    int frames = 20, height = 28, width = 28, digits = 2;
    int velocity_range = 2;  // d
    // When set, every digit of every sequence moves with this (vx, vy) (velocity generalization).
    std::optional<std::pair<int, int>> fixed_velocity;
};

// What one sequence is made of, drawn in the reference's order: the digits, then for each
// digit vx, vy, x0, y0.
struct SequenceRecipe {
    std::vector<int> digit, vx, vy, x0, y0;
};

class FlowingMnist {
  public:
    using Config = FlowingMnistConfig;

    FlowingMnist(const DigitSet &digits, FlowingMnistConfig config, uint64_t seed, uint64_t stream);

    SequenceRecipe recipe(uint64_t index) const;
    // Writes the (frames, 1, height, width) sequence into out.
    void render(const SequenceRecipe &recipe, float *out) const;
    // Sequences first .. first+count-1 as (count, frames, 1, height, width).
    // `seen`, when given, gets each sequence's recipe (e.g. for its labels) as it is drawn.
    Array<float> batch(uint64_t first, int count,
                       const std::function<void(const SequenceRecipe &)> &seen = nullptr) const;

    const FlowingMnistConfig &config() const { return config_; }

  private:
    const DigitSet &digits_;
    FlowingMnistConfig config_;
    uint64_t seed_, stream_;
};

}  // namespace fernn
