// The paper's theorem on the hidden state: on a torus with every velocity present, moving the
// input sequence by ν̂ (frame t shifted by t·ν̂) shifts the hidden state after frame t by t·ν̂
// and permutes its velocity copies ν ↦ ν − ν̂. For a classifier with circular padding
// throughout (lifting and layer inputs, BatchNorm in either mode) every layer's state obeys
// it and the logits (pooled over copies and pixels) are invariant. The same tests on a G-RNN
// must fail clearly, or they could not tell an equivariant model from any other.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/model/checkpoint.h"
#include "runtime/model/equivariance.h"
#include "runtime/model/sequence_model.h"
#include "tests/test_support.h"

using namespace fernn;

namespace {

constexpr int kSize = 8, kFrames = 5, kBatch = 2;

json torus_velocities(bool all_velocities) {
    json v = json::array();
    if (all_velocities) {
        for (int vx = -4; vx < 4; ++vx)
            for (int vy = -4; vy < 4; ++vy) v.push_back({vx, vy});
    } else {
        v.push_back({0, 0});
    }
    return v;
}

Spec torus_spec(bool all_velocities) {
    json doc = test::tiny_spec_json();
    doc["name"] = all_velocities ? "torus_fernn" : "torus_grnn";
    doc["input"] = {{"channels", 1}, {"height", kSize}, {"width", kSize}};
    doc["flow"]["velocities"] = torus_velocities(all_velocities);
    doc["recurrence"]["channels"] = 6;
    doc["sequence"]["input_frames"] = kFrames;
    return test::spec_from(doc);
}

// The tiny classifier on the torus, every conv circularly padded.
Spec torus_classifier(bool all_velocities) {
    json doc = test::tiny_classifier_json();
    doc["name"] = all_velocities ? "torus_classifier" : "torus_grnn_classifier";
    doc["input"] = {{"channels", 1}, {"height", kSize}, {"width", kSize}};
    doc["flow"]["velocities"] = torus_velocities(all_velocities);
    for (auto &l : doc["lifting"]["layers"]) l["padding"] = "circular";
    doc["recurrence"]["layers"][1]["input"]["padding"] = "circular";
    doc["sequence"]["input_frames"] = kFrames;
    return test::spec_from(doc);
}

struct Deviation {
    double states = 0;  // largest relative deviation of any layer's state from the theorem
    double logits = 0;  // classifiers: relative change of the logits
};

// The theorem's deviation on the spec's model (runtime/model/equivariance.h), initial
// weights, random input, every layer; the logits' relative change for classifiers.
Deviation equivariance_error(const Spec &spec, const std::vector<int> &nu,
                             Mode mode = Mode::Eval) {
    SequenceModel<float> model(test::compiled(spec, "float32"));
    auto weights = init_weights<float>(model.plan(), 5);
    // Without the classifier's bias the logits are all features: their change is the models'.
    const int bias = weights.params.index_of("fc.bias");
    if (bias >= 0)
        std::fill_n(weights.params.tensor(size_t(bias)), weights.params.infos[bias].numel(), 0.f);
    const int size = spec.input.height, frames = spec.sequence.input_frames;
    const auto x = test::random_array<float>({kBatch, frames, 1, size, size}, 3);
    const EquivarianceCheck check = check_equivariance(model, weights, x, nu, mode);
    EXPECT_EQ(check.compared_copies, spec.copies()) << "every copy has its partner in V";
    Deviation dev;
    dev.logits = check.logits_change;
    for (double e : check.layer_error) dev.states = std::max(dev.states, e);
    return dev;
}

// A rotation-flow frame predictor on size × size frames, C_N, velocities in degrees.
Spec rotation_spec(int n, const std::vector<int> &velocities, int size, const std::string &name) {
    json doc = test::tiny_rotation_json();
    doc["name"] = name;
    doc["input"] = {{"channels", 1}, {"height", size}, {"width", size}};
    doc["flow"]["orientations"] = n;
    doc["flow"]["velocities"] = velocities;
    doc["recurrence"]["channels"] = 3;
    doc["sequence"]["input_frames"] = kFrames;
    return test::spec_from(doc);
}

}  // namespace

TEST(Equivariance, FernnHiddenStateIsFlowEquivariant) {
    const Spec spec = torus_spec(true);
    ASSERT_EQ(spec.copies(), 64);
    // Every ν̂ of the torus (the velocities themselves).
    double worst = 0;
    for (const auto &nu : spec.flow.velocities) {
        const double e = equivariance_error(spec, nu).states;
        EXPECT_LE(e, 1e-5) << "nu_hat = (" << nu[0] << ", " << nu[1] << ")";
        worst = std::max(worst, e);
    }
    std::printf("  FERNN |V|=64, all 64 nu_hat: worst relative error %.3e\n", worst);
}

TEST(Equivariance, GrnnHiddenStateIsNotFlowEquivariant) {
    const Spec spec = torus_spec(false);
    for (auto [vx, vy] : std::vector<std::pair<int, int>>{{1, 0}, {2, 3}}) {
        const double e = equivariance_error(spec, {vx, vy}).states;
        std::printf("  G-RNN, nu_hat=(%d,%d): relative error %.3e\n", vx, vy, e);
        EXPECT_GT(e, 0.05) << "a G-RNN should violate flow equivariance";
    }
    // At ν̂ = 0 the moved sequence is the original: even the G-RNN passes.
    EXPECT_LE(equivariance_error(spec, {0, 0}).states, 1e-7);
}

TEST(Equivariance, ClassifierLogitsAreInvariantAndEveryLayerEquivariant) {
    const Spec spec = torus_classifier(true);
    ASSERT_EQ(spec.layers(), 2);
    for (Mode mode : {Mode::Eval, Mode::Train}) {
        Deviation worst;
        for (const auto &nu : spec.flow.velocities) {
            const Deviation d = equivariance_error(spec, nu, mode);
            EXPECT_LE(d.states, 1e-5) << "nu_hat = (" << nu[0] << ", " << nu[1] << ")";
            EXPECT_LE(d.logits, 1e-5) << "nu_hat = (" << nu[0] << ", " << nu[1] << ")";
            worst.states = std::max(worst.states, d.states);
            worst.logits = std::max(worst.logits, d.logits);
        }
        std::printf(
            "  classifier |V|=64, 2 layers, BatchNorm %s mode, all 64 nu_hat: states %.3e, "
            "logits %.3e\n",
            mode == Mode::Train ? "training" : "evaluation", worst.states, worst.logits);
    }
}

TEST(Equivariance, GrnnClassifierLogitsChangeUnderFlows) {
    const Spec spec = torus_classifier(false);
    for (auto [vx, vy] : std::vector<std::pair<int, int>>{{1, 0}, {2, 3}}) {
        const Deviation d = equivariance_error(spec, {vx, vy});
        std::printf("  G-RNN classifier, nu_hat=(%d,%d): states %.3e, logits %.3e\n", vx, vy,
                    d.states, d.logits);
        EXPECT_GT(d.states, 0.05);
        EXPECT_GT(d.logits, 0.05) << "a G-RNN classifier's logits should see the motion";
    }
}

// Rotations (C_4, the four quarter turns): exact on square grids of odd and even size for every
// ν̂ in V, the orientation channels rolling with the frame.
TEST(Equivariance, RotationFernnIsExactlyEquivariantToQuarterTurns) {
    for (int size : {7, 8}) {
        const Spec spec = rotation_spec(4, {0, 90, 180, 270}, size, "rot_c4_" + std::to_string(size));
        double worst = 0;
        for (const auto &nu : spec.flow.velocities) {
            const double e = equivariance_error(spec, nu).states;
            EXPECT_LE(e, 1e-5) << size << "x" << size << ", nu_hat = " << nu[0];
            worst = std::max(worst, e);
        }
        std::printf("  rotation FERNN C_4, |V|=4, %dx%d, all 4 nu_hat: worst relative error %.3e\n",
                    size, size, worst);
    }
}

// C_8 with every multiple of 45°: quarter turns stay exact (bilinear sampling commutes with
// the grid's 90° symmetry); 45° goes through interpolation, and its error is measured.
TEST(Equivariance, RotationC8QuarterTurnExactAndInterpolationMeasured) {
    const Spec spec = rotation_spec(8, {0, 45, 90, 135, 180, 225, 270, 315}, 8, "rot_c8");
    const double quarter = equivariance_error(spec, {90}).states;
    EXPECT_LE(quarter, 1e-5);
    const double eighth = equivariance_error(spec, {45}).states;
    std::printf("  rotation FERNN C_8, |V|=8, 8x8: nu_hat=90 %.3e (exact), nu_hat=45 %.3e "
                "(bilinear interpolation)\n", quarter, eighth);
    EXPECT_GT(eighth, 1e-5) << "45 degrees on a grid cannot be exact";
    EXPECT_LT(eighth, 1.0);
}

TEST(Equivariance, RotationGrnnIsNotEquivariant) {
    const Spec spec = rotation_spec(4, {0}, 8, "rot_grnn");
    const double e = equivariance_error(spec, {90}).states;
    std::printf("  rotation G-RNN (V={0}), nu_hat=90: relative error %.3e\n", e);
    EXPECT_GT(e, 0.05) << "a G-RNN should violate flow equivariance";
    EXPECT_LE(equivariance_error(spec, {0}).states, 1e-7);
}
