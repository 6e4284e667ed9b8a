// Where training, validation and test sequences come from, for every head:
//   Flowing MNIST or Rotating MNIST (mnist, fashion-mnist or an IDX directory), generated on
//     the fly with the motion the model's flow group needs: two digits per sequence for frame
//     prediction; one digit, labelled with its class, for classification
//   clips:DIR   sequences from files (clips.npy, and labels.npy for classifiers), e.g. made by
//     `fernn data import-kth`
// A source gives sequence i as a pure function of (its seed, i): batches can be drawn in any
// order and a resumed run sees exactly the data an uninterrupted one would.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/data/digits.h"
#include "runtime/formats/array.h"
#include "runtime/spec/flow_spec.h"

namespace fernn {

struct SequenceBatch {
    Array<float> frames;          // (B, T, C, H, W)
    std::vector<int64_t> labels;  // (B,) when the source is labelled
};

class SequenceSource {
  public:
    virtual ~SequenceSource() = default;
    // Sequences first .. first+count-1.
    virtual SequenceBatch batch(uint64_t first, int count) const = 0;
    // Distinct items behind the sequences (digits or clips): an epoch's worth.
    virtual int64_t size() const = 0;
};

enum class Split { Train, Val, Test };

// What a model needs from a source and how sequences are drawn.
struct SourceConfig {
    int frames = 20, channels = 1, height = 28, width = 28;
    bool labels = false;  // classification: one labelled item per sequence
    // How generated data move, as the model's flow group needs (FlowSpec::data_motion):
    // translating digits (Flowing MNIST) or turning ones (Rotating MNIST).
    DataMotion motion = DataMotion::Translation;
    int velocity_range = 2;  // Flowing MNIST velocities; clips: the reference's shift range
    // Flowing MNIST only: every digit moves with this (vx, vy) (velocity generalization).
    std::optional<std::pair<int, int>> fixed_velocity;
    // Rotating MNIST: each digit turns at one of these (degrees per frame), or every digit at
    // fixed_angular_velocity (angular velocity generalization).
    std::vector<int> angular_velocities;
    std::optional<int> fixed_angular_velocity;
    uint64_t seed = 0, stream = 0;  // the draw of sequence i depends on (seed, stream, i)
    bool flips = false;             // clips: random horizontal flips (training)
};

// A dataset opened once; its splits are made into sources for a config.
class DataSet {
  public:
    virtual ~DataSet() = default;
    virtual std::unique_ptr<SequenceSource> source(Split split, const SourceConfig &c) const = 0;
    virtual int64_t count(Split split) const = 0;
    virtual std::string name() const = 0;
    virtual std::string dir() const = 0;
    // "digits" (generated sequences) or "clips": what `fernn data info` and results files call
    // it.
    virtual std::string kind() const = 0;
};

// "mnist", "fashion-mnist", an IDX directory, or "clips:DIR".
std::unique_ptr<DataSet> open_data(const std::string &name);

}  // namespace fernn
