// `fernn eval`: the paper's evaluations of a trained model. Frame predictors on test digits
// moving as the model's flow group needs (Flowing MNIST for translations, Rotating MNIST for
// rotations) with the training data's velocities:
//   test MSE over the predicted frames;
//   length generalization: per-step MSE (mean ± std over sequences) predicting
//     `length_frames` frames after the input frames, beyond the training horizon;
//   velocity generalization: both digits moving with one velocity, MSE per (vx, vy) on a grid
//     reaching beyond the training velocities; for rotations MSE per angular velocity ω of
//     test_angular_velocities (the paper's -50..50 by 10).
// Writes results.json, length_generalization.csv, velocity_generalization.csv and strip.png
// (inputs / truth / predictions) into out_dir; on clips:DIR the test MSE only. Classifiers:
// see evaluate_classes.cpp. All test data are fixed: the same sequences for every model and
// run.
#pragma once

#include <string>
#include <vector>

#include "runtime/data/digits.h"
#include "runtime/model/sequence_model.h"
#include "runtime/parallel/communicator.h"

namespace fernn {

// The angular velocities the paper tests rotation models on: -50..50 by 10.
inline std::vector<int> default_test_angular_velocities() {
    std::vector<int> v;
    for (int w = -50; w <= 50; w += 10) v.push_back(w);
    return v;
}

struct EvalSettings {
    std::string data = "mnist";
    int sequences = 256;     // test MSE and length generalization
    int length_frames = 0;   // predicted frames for length generalization; 0: default
    int velocity_range = 2;  // the training data's d (test sequences use it)
    int velocity_max = -1;   // grid [-m, m]²; -1: velocity_range + 2
    // Rotation flows: the training data's angular velocities (test sequences use them) and the
    // ones velocity generalization tests.
    std::vector<int> angular_velocities,
        test_angular_velocities = default_test_angular_velocities();
    int velocity_sequences = 32;  // per grid cell
    int batch = 32;
    int strip_sequences = 4;

    json to_json() const;
};

// Length generalization's default horizon for the model's data (default_length_frames: 70 for
// rotations, the paper's; 30 for translations).
int default_length_frames(const Spec &spec);

// Dispatches by the model's readout: frames here, classes to evaluate_classifier. With a world
// of several ranks each computes its share of every set of test sequences and rank 0 writes the
// results (which every rank returns).
json evaluate(const SequenceModel<float> &model, const ModelWeights<float> &weights,
              const EvalSettings &settings, const std::string &out_dir, Communicator &world);

class DataParallel;
json evaluate_classifier(const SequenceModel<float> &model, const ModelWeights<float> &weights,
                         const EvalSettings &settings, const std::string &out_dir,
                         DataParallel &ranks);

}  // namespace fernn
