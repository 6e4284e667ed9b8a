// `fernn eval`: the paper's evaluations of a trained model. Frame predictors on Flowing MNIST
// test digits:
//   test MSE over the predicted frames;
//   length generalization: per-step MSE (mean ± std over sequences) predicting
//     `length_frames` frames after the input frames, beyond the training horizon;
//   velocity generalization: MSE per (vx, vy) on a grid reaching beyond the training
//     velocities, both digits moving with that velocity.
// Writes results.json, length_generalization.csv, velocity_generalization.csv and strip.png
// (inputs / truth / predictions) into out_dir; on clips:DIR the test MSE only. Classifiers:
// see evaluate_classes.cpp. All test data are fixed: the same sequences for every model and
// run.
#pragma once

#include <string>

#include "runtime/data/digits.h"
#include "runtime/model/sequence_model.h"

namespace fernn {

struct EvalSettings {
    std::string data = "mnist";
    int sequences = 256;          // test MSE and length generalization
    int length_frames = 30;       // predicted frames for length generalization
    int velocity_range = 2;       // the training data's d (test sequences use it)
    int velocity_max = -1;        // grid [-m, m]²; -1: velocity_range + 2
    int velocity_sequences = 32;  // per grid cell
    int batch = 32;
    int strip_sequences = 4;

    json to_json() const;
};

// Dispatches by the model's readout: frames here, classes to evaluate_classifier.
json evaluate(const SequenceModel<float> &model, const ModelWeights<float> &weights,
              const EvalSettings &settings, const std::string &out_dir);

json evaluate_classifier(const SequenceModel<float> &model, const ModelWeights<float> &weights,
                         const EvalSettings &settings, const std::string &out_dir);

}  // namespace fernn
