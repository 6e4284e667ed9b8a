// Flowing MNIST as a SequenceSource: the digit sets of load_dataset (digits.h) drawn by
// FlowingMnist (flowing_mnist.h); for classification one digit per sequence, labelled with its
// class.
#include <stdexcept>

#include "runtime/data/flowing_mnist.h"
#include "runtime/data/sequence_source.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

class FlowingSource : public SequenceSource {
  public:
    FlowingSource(const DigitSet &digits, const SourceConfig &c)
        : digits_(digits), labels_(c.labels), gen_(digits, config_of(c), c.seed, c.stream) {
        if (c.channels != 1) {
            throw InputError("Flowing MNIST frames have 1 channel; the model's input has " +
                             std::to_string(c.channels) + " (train on clips:DIR instead)");
        }
        if (labels_ && digits.labels.empty())
            throw InputError(digits.file +
                             ": no labels beside the images; a classifier needs them");
    }

    SequenceBatch batch(uint64_t first, int count) const override {
        SequenceBatch b;
        const FlowingMnistConfig &cfg = gen_.config();
        b.frames = Array<float>({count, cfg.frames, 1, cfg.height, cfg.width});
        const size_t per = size_t(cfg.frames) * cfg.height * cfg.width;
        for (int i = 0; i < count; ++i) {
            const SequenceRecipe r = gen_.recipe(first + uint64_t(i));
            gen_.render(r, b.frames.data.data() + per * size_t(i));
            if (labels_) b.labels.push_back(digits_.labels[size_t(r.digit[0])]);
        }
        return b;
    }

    int64_t size() const override { return digits_.count; }

  private:
    static FlowingMnistConfig config_of(const SourceConfig &c) {
        FlowingMnistConfig f;
        f.frames = c.frames;
        f.height = c.height;
        f.width = c.width;
        f.digits = c.labels ? 1 : 2;
        f.velocity_range = c.velocity_range;
        f.fixed_velocity = c.fixed_velocity;
        return f;
    }

    const DigitSet &digits_;
    bool labels_;
    FlowingMnist gen_;
};

class DigitData : public DataSet {
  public:
    explicit DigitData(const std::string &name) : data_(load_dataset(name)) {}
    std::unique_ptr<SequenceSource> source(Split split, const SourceConfig &c) const override {
        // Digits that translate teach a rotation model nothing about its flows: refuse rather
        // than train on the wrong motion.
        if (c.flow == "rotation") {
            throw InputError(
                "flow group \"rotation\": Flowing MNIST moves digits by translations, and "
                "generated Rotating MNIST is not drawn by train/eval yet; give --data clips:DIR "
                "with DIR/clips.npy written by `fernn data sample --angular-velocities ... --out "
                "DIR/clips.npy`");
        }
        return std::make_unique<FlowingSource>(set(split), c);
    }
    int64_t count(Split split) const override { return set(split).count; }
    std::string name() const override { return data_.name; }
    std::string dir() const override { return data_.dir; }
    std::string kind() const override { return "flowing-mnist"; }

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
