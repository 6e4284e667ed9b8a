// The paper's theorem on the hidden state: on a torus with every velocity present, moving the
// input sequence by ν̂ (frame t shifted by t·ν̂) shifts the hidden state after frame t by t·ν̂
// and permutes its velocity copies ν ↦ ν − ν̂. For a classifier with circular padding
// throughout (lifting and layer inputs, BatchNorm in either mode) every layer's state obeys
// it and the logits (pooled over copies and pixels) are invariant. The same tests on a G-RNN
// must fail clearly, or they could not tell an equivariant model from any other.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/model/checkpoint.h"
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

int wrap(int i) {
    return ((i % kSize) + kSize) % kSize;
}

// Frame t moved by t·ν̂: out(y, x) = in(y − t·vy, x − t·vx), as torch.roll by (t·vy, t·vx).
Array<float> move_sequence(const Array<float> &x, int vx, int vy) {
    Array<float> out(x.shape);
    for (int b = 0; b < kBatch; ++b)
        for (int t = 0; t < kFrames; ++t)
            for (int y = 0; y < kSize; ++y)
                for (int xx = 0; xx < kSize; ++xx)
                    out.data[((b * kFrames + t) * kSize + y) * kSize + xx] =
                        x.data[((b * kFrames + t) * kSize + wrap(y - t * vy)) * kSize +
                               wrap(xx - t * vx)];
    return out;
}

struct Deviation {
    double states = 0;  // largest relative deviation of any layer's state from the theorem
    double logits = 0;  // classifiers: relative change of the logits
};

// Largest relative deviation, over frames and layers, of the moved sequence's hidden states
// from the original's transformed by the theorem: h'_t[ν](p) = h_t[ν − ν̂](p − t·ν̂); and the
// logits' relative change.
Deviation equivariance_error(const Spec &spec, int vx, int vy, Mode mode = Mode::Eval) {
    SequenceModel<float> model(test::compiled(spec, "float32"));
    auto weights = init_weights<float>(model.plan(), 5);
    // Without the classifier's bias the logits are all features: their change is the models'.
    const int bias = weights.params.index_of("fc.bias");
    if (bias >= 0)
        std::fill_n(weights.params.tensor(size_t(bias)), weights.params.infos[bias].numel(), 0.f);
    const auto x = test::random_array<float>({kBatch, kFrames, 1, kSize, kSize}, 3);
    SequenceModel<float>::Trace a, b;
    SequenceModel<float>::Options o;
    o.mode = mode;
    o.keep_all = true;
    model.forward(weights, x, o, a);
    model.forward(weights, move_sequence(x, vx, vy), o, b);
    Deviation dev;
    if (model.classifies()) {
        const Array<float> za = model.logits(a), zb = model.logits(b);
        double d2 = 0, n2 = 0;
        for (size_t i = 0; i < za.data.size(); ++i) {
            d2 += std::pow(double(zb.data[i]) - za.data[i], 2);
            n2 += std::pow(double(za.data[i]), 2);
        }
        dev.logits = std::sqrt(d2 / n2);
    }
    const auto &vel = spec.flow.velocities;
    const int nv = spec.copies();
    auto index_of = [&](int wx, int wy) {
        for (int i = 0; i < nv; ++i) {
            if (wrap(vel[i][0] - wx) == 0 && wrap(vel[i][1] - wy) == 0) return i;
        }
        return -1;
    };
    for (int layer = 0; layer < spec.layers(); ++layer) {
        const Array<float> h = model.hidden_states(a, layer, 0, kFrames),
                           hm = model.hidden_states(b, layer, 0, kFrames);
        const int C = spec.recurrence.layers[layer].channels;
        for (int t = 0; t < kFrames; ++t) {
            double diff2 = 0, norm2 = 0;
            for (int bb = 0; bb < kBatch; ++bb)
                for (int v = 0; v < nv; ++v) {
                    // With one velocity (G-RNN) the copy maps to itself: the test then asks
                    // for plain translation equivariance, which the G-RNN lacks.
                    const int src = nv == 1 ? 0 : index_of(vel[v][0] - vx, vel[v][1] - vy);
                    EXPECT_GE(src, 0);
                    for (int c = 0; c < C; ++c)
                        for (int y = 0; y < kSize; ++y)
                            for (int xx = 0; xx < kSize; ++xx) {
                                auto at = [&](int vv, int yy, int xxx) {
                                    return ((((int64_t(bb) * kFrames + t) * nv + vv) * C + c) *
                                                kSize +
                                            yy) *
                                               kSize +
                                           xxx;
                                };
                                const double got = hm.data[at(v, y, xx)];
                                const double want =
                                    h.data[at(src, wrap(y - t * vy), wrap(xx - t * vx))];
                                diff2 += (got - want) * (got - want);
                                norm2 += want * want;
                            }
                }
            dev.states = std::max(dev.states, std::sqrt(diff2 / norm2));
        }
    }
    return dev;
}

}  // namespace

TEST(Equivariance, FernnHiddenStateIsFlowEquivariant) {
    const Spec spec = torus_spec(true);
    ASSERT_EQ(spec.copies(), 64);
    // Every ν̂ of the torus (the velocities themselves).
    double worst = 0;
    for (const auto &nu : spec.flow.velocities) {
        const double e = equivariance_error(spec, nu[0], nu[1]).states;
        EXPECT_LE(e, 1e-5) << "nu_hat = (" << nu[0] << ", " << nu[1] << ")";
        worst = std::max(worst, e);
    }
    std::printf("  FERNN |V|=64, all 64 nu_hat: worst relative error %.3e\n", worst);
}

TEST(Equivariance, GrnnHiddenStateIsNotFlowEquivariant) {
    const Spec spec = torus_spec(false);
    for (auto [vx, vy] : std::vector<std::pair<int, int>>{{1, 0}, {2, 3}}) {
        const double e = equivariance_error(spec, vx, vy).states;
        std::printf("  G-RNN, nu_hat=(%d,%d): relative error %.3e\n", vx, vy, e);
        EXPECT_GT(e, 0.05) << "a G-RNN should violate flow equivariance";
    }
    // At ν̂ = 0 the moved sequence is the original: even the G-RNN passes.
    EXPECT_LE(equivariance_error(spec, 0, 0).states, 1e-7);
}

TEST(Equivariance, ClassifierLogitsAreInvariantAndEveryLayerEquivariant) {
    const Spec spec = torus_classifier(true);
    ASSERT_EQ(spec.layers(), 2);
    for (Mode mode : {Mode::Eval, Mode::Train}) {
        Deviation worst;
        for (const auto &nu : spec.flow.velocities) {
            const Deviation d = equivariance_error(spec, nu[0], nu[1], mode);
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
        const Deviation d = equivariance_error(spec, vx, vy);
        std::printf("  G-RNN classifier, nu_hat=(%d,%d): states %.3e, logits %.3e\n", vx, vy,
                    d.states, d.logits);
        EXPECT_GT(d.states, 0.05);
        EXPECT_GT(d.logits, 0.05) << "a G-RNN classifier's logits should see the motion";
    }
}
