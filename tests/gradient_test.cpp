// BPTT gradients against central finite differences, for every entry of every parameter
// tensor (BatchNorm's, the learned flow kernels and steerable weights included), on float64 builds of the same
// pipelines (the same algorithm and schedules as the float32 library, only the element type
// differs). As in the reference, no gradient flows through the predictions fed back as decoder
// inputs, so the differenced loss feeds the decoder the unperturbed run's frames (which the
// test also checks matter). Classifiers difference the mean cross-entropy with BatchNorm in
// training mode. In float64 a central difference with step 1e-6 is accurate to ~1e-9 relative,
// so the tolerance of 1e-6 leaves room only for the rare entry whose perturbation crosses a
// ReLU or max-pool kink.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <functional>

#include "runtime/model/checkpoint.h"
#include "runtime/model/sequence_model.h"
#include "tests/test_support.h"

using namespace fernn;

namespace {

struct Case {
    const char *name;
    std::vector<std::string> sets;  // "path=json" edits of the tiny spec
    int batch;
    bool classifier = false;  // edits of the tiny classifier instead
    bool rotation = false;    // edits of the tiny rotation-flow predictor instead
};

void PrintTo(const Case &c, std::ostream *os) {
    *os << c.name;
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

Spec make_spec(const Case &c) {
    json doc = c.classifier ? test::tiny_classifier_json()
               : c.rotation ? test::tiny_rotation_json()
                            : test::tiny_spec_json();
    JsonSource source{"<test>", {}};
    for (const auto &s : c.sets) apply_override(doc, s, source);
    return parse_spec(doc, source);
}

}  // namespace

// Compares every entry of every gradient with a central difference of loss_at.
void check_every_entry(const Case &c, const ModelWeights<double> &weights,
                       const ParameterSet<double> &grads,
                       const std::function<double(const ModelWeights<double> &)> &loss_at) {
    const double eps = 1e-6;
    const ParameterSet<double> &params = weights.params;
    for (size_t k = 0; k < params.infos.size(); ++k) {
        SCOPED_TRACE(params.infos[k].name);
        double diff2 = 0, norm2 = 0, worst = 0;
        for (int64_t i = 0; i < params.infos[k].numel(); ++i) {
            ModelWeights<double> p = weights;
            p.params.tensor(k)[i] += eps;
            const double up = loss_at(p);
            p.params.tensor(k)[i] -= 2 * eps;
            const double down = loss_at(p);
            const double fd = (up - down) / (2 * eps);
            const double an = grads.tensor(k)[i];
            diff2 += (fd - an) * (fd - an);
            norm2 += an * an;
            worst = std::max(worst, std::fabs(fd - an));
        }
        const double rel = std::sqrt(diff2 / std::max(norm2, 1e-300));
        std::printf("  %-10s %-36s rel err %.2e  max abs err %.2e  |grad| %.3e\n", c.name,
                    params.infos[k].name.c_str(), rel, worst, std::sqrt(norm2));
        EXPECT_GT(norm2, 0) << "a zero gradient cannot be checked";
        EXPECT_LT(rel, 1e-6);
    }
}

TEST_P(GradientCheck, MatchesCentralDifferences) {
    const Case &c = GetParam();
    const Spec spec = make_spec(c);
    SequenceModel<double> model(test::compiled(spec, "float64"));
    const ModelWeights<double> weights = init_weights<double>(model.plan(), 11);
    const InputSpec &in = spec.input;
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    const auto x = test::random_array<double>({c.batch, t_in, in.channels, in.height, in.width}, 1);
    SequenceModel<double>::Options train;
    train.mode = Mode::Train;
    train.keep_all = true;
    train.t_out = t_out;
    SequenceModel<double>::Trace trace;
    model.forward(weights, x, train, trace);
    ParameterSet<double> grads;

    if (model.classifies()) {
        std::vector<int64_t> labels;
        for (int b = 0; b < c.batch; ++b) labels.push_back(b % spec.readout.classes.classes);
        const double loss = model.backward(weights, {nullptr, &labels}, trace, grads);
        EXPECT_GT(loss, 0);
        auto loss_at = [&](const ModelWeights<double> &p) {
            SequenceModel<double>::Options o;
            o.mode = Mode::Train;  // batch statistics, as the gradient was taken
            SequenceModel<double>::Trace t;
            model.forward(p, x, o, t);
            return model.class_scores(t, labels).loss;
        };
        EXPECT_DOUBLE_EQ(loss_at(weights), loss);
        check_every_entry(c, weights, grads, loss_at);
        return;
    }

    const auto y =
        test::random_array<double>({c.batch, t_out, in.channels, in.height, in.width}, 2);
    const double loss = model.backward(weights, {&y, nullptr}, trace, grads);
    EXPECT_GT(loss, 0);
    // The frames the decoder was fed: the last observed frame, then each prediction.
    Array<double> fed({c.batch, t_out, in.channels, in.height, in.width});
    const Array<double> preds = model.predictions(trace);
    const int64_t frame = int64_t(in.channels) * in.height * in.width;
    for (int b = 0; b < c.batch; ++b) {
        for (int k = 0; k < t_out; ++k) {
            const double *src = k == 0 ? &x.data[(b * t_in + t_in - 1) * frame]
                                       : &preds.data[(b * t_out + k - 1) * frame];
            std::copy(src, src + frame, &fed.data[(b * t_out + k) * frame]);
        }
    }
    auto loss_with = [&](const ModelWeights<double> &p, bool frozen) {
        SequenceModel<double>::Options o;
        o.mode = Mode::Train;
        o.t_out = t_out;
        o.decoder_inputs = frozen ? &fed : nullptr;
        SequenceModel<double>::Trace t;
        model.forward(p, x, o, t);
        return model.loss(t, y);
    };
    auto loss_at = [&](const ModelWeights<double> &p) { return loss_with(p, true); };
    EXPECT_DOUBLE_EQ(loss_at(weights), loss);  // feeding the same frames changes nothing
    check_every_entry(c, weights, grads, loss_at);
    // Differencing through the fed-back predictions gives another gradient: the detach is
    // real (with more than one predicted frame).
    if (t_out > 1) {
        const double eps = 1e-6;
        // The output conv's entry with the largest gradient (a dead ReLU channel has none).
        const size_t last = weights.params.infos.size() - 1;
        int64_t at = 0;
        for (int64_t i = 0; i < weights.params.infos[last].numel(); ++i)
            if (std::fabs(grads.tensor(last)[i]) > std::fabs(grads.tensor(last)[at])) at = i;
        ModelWeights<double> p = weights;
        p.params.tensor(last)[at] += eps;
        const double up = loss_with(p, false);
        p.params.tensor(last)[at] -= 2 * eps;
        const double through = (up - loss_with(p, false)) / (2 * eps);
        EXPECT_GT(std::fabs(through - grads.tensor(last)[at]), 1e-6);  // FD error: ~1e-9
    }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, GradientCheck,
    ::testing::Values(
        Case{"relu_max", {}, 2},
        Case{"tanh_mean",
             {"recurrence.activation=tanh", "readout.pool=mean",
              "flow.velocities=[[2,0],[0,-1],[-1,1]]", "readout.decoder.layers=2",
              "lifting.kernel=5"},
             5},
        Case{"sig_sum",
             {"recurrence.activation=sigmoid", "readout.pool=sum", "readout.decoder.layers=0",
              "input.channels=2", "readout.channels=2", "recurrence.kernel=1",
              "readout.decoder.kernel=5"},
             3},
        Case{"grnn",
             {"flow.velocities.range=0", "recurrence.channels=3", "sequence.input_frames=4"},
             2},
        // Frames with a BatchNorm lifting stack and two layers (spec version 2).
        Case{
            "stacked",
            {"fernn=2",
             R"(lifting={"layers": [{"channels": 3, "kernel": 3, "padding": "zeros", "batchnorm": true, "activation": "tanh"}, {"channels": 4, "kernel": 1, "padding": "circular", "batchnorm": false, "activation": "none"}]})",
             R"(recurrence={"layers": [{"channels": 4, "kernel": 3, "activation": "relu"}, {"channels": 3, "kernel": 3, "activation": "tanh", "input": {"kernel": 3, "padding": "circular", "batchnorm": false, "activation": "sigmoid"}}]})"},
            3},
        Case{"classes", {}, 3, true},
        Case{"grnn_plus",
             {R"(flow={"group": "learned", "copies": 3, "kernel": 3, "boundary": "circular"})",
              "readout.time=mean", "readout.pool=mean"},
             4,
             true},
        // Rotation flows: steerable weights through the basis, quarter turns (C_4) and
        // bilinear turns with their adjoint gather (C_8 at 45° multiples).
        Case{"rot_c4", {"recurrence.activation=tanh"}, 2, false, true},
        Case{"rot_c8",
             {"flow.orientations=8", "flow.velocities=[0,45,-45,90]", "recurrence.activation=tanh",
              "readout.pool=mean", "lifting.kernel=5"},
             2,
             false,
             true}),
    [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });

// Recomputation (Options::recompute = K): the backward runs each segment of K steps again from
// the state kept before it, so the gradients, the loss and BatchNorm's running statistics (moved
// once, by the forward) must be the same bits as when every state is kept. K = 1 recomputes only
// the saved activations, K = 2 and 3 leave a short last segment, K = 7 is one segment.
TEST_P(GradientCheck, RecomputedSegmentsGiveTheSameBits) {
    const Case &c = GetParam();
    const Spec spec = make_spec(c);
    auto lib = test::compiled(spec, "float64");
    SequenceModel<double> model(lib);
    const ModelWeights<double> weights = init_weights<double>(model.plan(), 11);
    const InputSpec &in = spec.input;
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    const auto x = test::random_array<double>({c.batch, t_in, in.channels, in.height, in.width}, 1);
    const auto y =
        test::random_array<double>({c.batch, t_out, in.channels, in.height, in.width}, 2);
    std::vector<int64_t> labels;
    for (int b = 0; b < c.batch; ++b) labels.push_back(b % std::max(1, spec.readout.classes.classes));
    const Targets<double> targets{model.classifies() ? nullptr : &y,
                                  model.classifies() ? &labels : nullptr};
    struct Result {
        double loss;
        ParameterSet<double> grads;
        RunningStats<double> stats;
        Array<double> outputs;
    };
    auto run = [&](int recompute) {
        Parameters<double> p(*lib), g(*lib);
        p.upload(weights.params);
        Statistics<double> s(*lib);
        s.upload(weights.stats);
        SequenceModel<double>::Options o;
        o.mode = Mode::Train;
        o.keep_all = true;
        o.t_out = t_out;
        o.recompute = recompute;
        SequenceModel<double>::Trace trace;
        // Twice through one trace: the second pass reuses the pooled memory.
        Result r;
        for (int pass = 0; pass < 2; ++pass) {
            model.forward(p, &s, x, o, trace);
            // What the forward kept: every K-th state and the last, no saved activations.
            for (int t = 0; t < trace.steps; ++t) {
                const bool kept = recompute == 0 || (t + 1) % recompute == 0 || t == trace.steps - 1;
                EXPECT_EQ(trace.states[0][size_t(t)].size() > 0, kept) << "step " << t;
                if (recompute > 0) {
                    EXPECT_TRUE(trace.lifting[size_t(t)].empty()) << "step " << t;
                }
            }
            r.loss = model.backward(p, targets, trace, g);
        }
        r.grads = ParameterSet<double>::zeros(model.plan());
        g.download(r.grads);
        r.stats = weights.stats;
        s.download(r.stats);
        r.outputs = model.classifies() ? model.logits(trace) : model.predictions(trace);
        return r;
    };
    const Result stored = run(0);
    for (int k : {1, 2, 3, 7}) {
        SCOPED_TRACE("recompute " + std::to_string(k));
        const Result r = run(k);
        EXPECT_EQ(r.loss, stored.loss);
        EXPECT_TRUE(std::equal(r.outputs.data.begin(), r.outputs.data.end(),
                               stored.outputs.data.begin(), stored.outputs.data.end()));
        for (size_t i = 0; i < stored.grads.infos.size(); ++i) {
            SCOPED_TRACE(stored.grads.infos[i].name);
            const double *a = stored.grads.tensor(i), *b = r.grads.tensor(i);
            EXPECT_TRUE(std::equal(a, a + stored.grads.infos[i].numel(), b));
        }
        EXPECT_TRUE(std::equal(r.stats.data.begin(), r.stats.data.end(), stored.stats.data.begin(),
                               stored.stats.data.end()));
        EXPECT_EQ(r.stats.counters, stored.stats.counters);
    }
}
