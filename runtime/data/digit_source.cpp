// Digits as a SequenceSource: the digit sets of load_dataset (digits.h) drawn by FlowingMnist
// (flowing_mnist.h) for models of translating flows, by RotatingMnist (rotating_mnist.h) for
// rotation flows; for classification one digit per sequence, labelled with its class.
#include <stdexcept>

#include "runtime/data/flowing_mnist.h"
#include "runtime/data/rotating_mnist.h"
#include "runtime/data/sequence_source.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

// One source for either generator: Gen is FlowingMnist or RotatingMnist (a recipe per
// sequence, rendered into (frames, 1, H, W)).
template <typename Gen>
class DigitSource : public SequenceSource {
  public:
    DigitSource(const DigitSet &digits, const SourceConfig &c, typename Gen::Config config)
        : digits_(digits), labels_(c.labels), gen_(digits, std::move(config), c.seed, c.stream) {
        if (c.channels != 1) {
            throw InputError("MNIST frames have 1 channel; the model's input has " +
                             std::to_string(c.channels) + " (train on clips:DIR instead)");
        }
        if (labels_ && digits.labels.empty())
            throw InputError(digits.file +
                             ": no labels beside the images; a classifier needs them");
    }

    SequenceBatch batch(uint64_t first, int count) const override {
        SequenceBatch b;
        b.frames = gen_.batch(first, count, [&](const auto &recipe) {
            if (labels_) b.labels.push_back(digits_.labels[size_t(recipe.digit[0])]);
        });
        return b;
    }

    int64_t size() const override { return digits_.count; }

  private:
    const DigitSet &digits_;
    bool labels_;
    Gen gen_;
};

FlowingMnistConfig flowing_config(const SourceConfig &c) {
    FlowingMnistConfig f;
    f.frames = c.frames;
    f.height = c.height;
    f.width = c.width;
    f.digits = c.labels ? 1 : 2;
    f.velocity_range = c.velocity_range;
    f.fixed_velocity = c.fixed_velocity;
    return f;
}

RotatingMnistConfig rotating_config(const SourceConfig &c) {
    if (c.height != c.width) {
        throw InputError("Rotating MNIST frames are square; the model's are " +
                         std::to_string(c.width) + "x" + std::to_string(c.height));
    }
    RotatingMnistConfig r;
    r.frames = c.frames;
    r.size = c.height;
    r.digits = c.labels ? 1 : 2;
    r.velocities = c.angular_velocities;
    r.fixed_velocity = c.fixed_angular_velocity;
    return r;
}

class DigitData : public DataSet {
  public:
    explicit DigitData(const std::string &name) : data_(load_dataset(name)) {}
    std::unique_ptr<SequenceSource> source(Split split, const SourceConfig &c) const override {
        // The digits move as the model's flows do: translations teach a rotation model nothing.
        if (c.motion == DataMotion::Rotation)
            return std::make_unique<DigitSource<RotatingMnist>>(set(split), c, rotating_config(c));
        return std::make_unique<DigitSource<FlowingMnist>>(set(split), c, flowing_config(c));
    }
    int64_t count(Split split) const override { return set(split).count; }
    std::string name() const override { return data_.name; }
    std::string dir() const override { return data_.dir; }
    std::string kind() const override { return "digits"; }

  private:
    const DigitSet &set(Split s) const {
        return s == Split::Train ? data_.train : s == Split::Val ? data_.val : data_.test;
    }
    Dataset data_;
};

}  // namespace

std::unique_ptr<DataSet> open_clips(const std::string &dir);

std::unique_ptr<DataSet> open_data(const std::string &name) {
    const std::string prefix = "clips:";
    if (name.rfind(prefix, 0) == 0) return open_clips(name.substr(prefix.size()));
    return std::make_unique<DigitData>(name);
}

}  // namespace fernn
