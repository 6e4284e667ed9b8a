// BPTT gradients against central finite differences, for every entry of every parameter
// tensor, on float64 builds of the same pipelines (the same algorithm and schedules as the
// float32 library, only the element type differs). As in the reference, no gradient flows
// through the predictions fed back as decoder inputs, so the differenced loss feeds the
// decoder the unperturbed run's frames (which the test also checks matter). In float64 a central
// difference with step 1e-6 is accurate to ~1e-9 relative, so the tolerance of 1e-6 leaves room
// only for the rare entry whose perturbation crosses a ReLU or max-pool kink.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/model/checkpoint.h"
#include "runtime/model/sequence_model.h"
#include "tests/test_support.h"

using namespace fernn;

namespace {

struct Case {
    const char *name;
    std::vector<std::string> sets;  // "path=json" edits of the tiny spec
    int batch;
};

void PrintTo(const Case &c, std::ostream *os) {
    *os << c.name;
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

Spec make_spec(const Case &c) {
    json doc = test::tiny_spec_json();
    JsonSource source{"<test>", {}};
    for (const auto &s : c.sets) apply_override(doc, s, source);
    return parse_spec(doc, source);
}

}  // namespace

TEST_P(GradientCheck, MatchesCentralDifferences) {
    const Case &c = GetParam();
    const Spec spec = make_spec(c);
    SequenceModel<double> model(test::compiled(spec, "float64"));
    ParameterSet<double> params = init_parameters<double>(spec, 11);
    const auto x = test::random_array<double>(
        {c.batch, spec.input_frames, spec.in_channels, spec.height, spec.width}, 1);
    const auto y = test::random_array<double>(
        {c.batch, spec.output_frames, spec.in_channels, spec.height, spec.width}, 2);

    SequenceModel<double>::Trace trace;
    model.forward(params, x, spec.output_frames, true, trace);
    ParameterSet<double> grads;
    const double loss = model.backward(params, y, trace, grads);
    EXPECT_GT(loss, 0);

    // The frames the decoder was fed: the last observed frame, then each prediction.
    Array<double> fed({c.batch, spec.output_frames, spec.in_channels, spec.height, spec.width});
    const Array<double> preds = model.predictions(trace);
    const int64_t frame = int64_t(spec.in_channels) * spec.height * spec.width;
    for (int b = 0; b < c.batch; ++b) {
        for (int k = 0; k < spec.output_frames; ++k) {
            const double *src =
                k == 0 ? &x.data[(b * spec.input_frames + spec.input_frames - 1) * frame]
                       : &preds.data[(b * spec.output_frames + k - 1) * frame];
            std::copy(src, src + frame, &fed.data[(b * spec.output_frames + k) * frame]);
        }
    }
    auto loss_at = [&](const ParameterSet<double> &p, bool frozen) {
        SequenceModel<double>::Trace t;
        model.forward(p, x, spec.output_frames, false, t, frozen ? &fed : nullptr);
        return model.loss(t, y);
    };
    EXPECT_DOUBLE_EQ(loss_at(params, true), loss);  // feeding the same frames changes nothing
    const double eps = 1e-6;
    for (size_t k = 0; k < params.infos.size(); ++k) {
        SCOPED_TRACE(params.infos[k].name);
        double diff2 = 0, norm2 = 0, worst = 0;
        for (int64_t i = 0; i < params.infos[k].numel(); ++i) {
            ParameterSet<double> p = params;
            p.tensor(k)[i] += eps;
            const double up = loss_at(p, true);
            p.tensor(k)[i] -= 2 * eps;
            const double down = loss_at(p, true);
            const double fd = (up - down) / (2 * eps);
            const double an = grads.tensor(k)[i];
            diff2 += (fd - an) * (fd - an);
            norm2 += an * an;
            worst = std::max(worst, std::fabs(fd - an));
        }
        const double rel = std::sqrt(diff2 / std::max(norm2, 1e-300));
        RecordProperty(params.infos[k].name, std::to_string(rel));
        std::printf("  %-8s %-24s rel err %.2e  max abs err %.2e  |grad| %.3e\n", c.name,
                    params.infos[k].name.c_str(), rel, worst, std::sqrt(norm2));
        EXPECT_GT(norm2, 0) << "a zero gradient cannot be checked";
        EXPECT_LT(rel, 1e-6);
    }
    // Differencing through the fed-back predictions gives another gradient: the detach is
    // real (with more than one predicted frame).
    if (spec.output_frames > 1) {
        const size_t last = params.infos.size() - 1;
        ParameterSet<double> p = params;
        p.tensor(last)[0] += eps;
        const double up = loss_at(p, false);
        p.tensor(last)[0] -= 2 * eps;
        const double through = (up - loss_at(p, false)) / (2 * eps);
        EXPECT_GT(std::fabs(through - grads.tensor(last)[0]), 1e-4);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, GradientCheck,
    ::testing::Values(Case{"relu_max", {}, 2},
                      Case{"tanh_mean",
                           {"recurrence.activation=tanh", "readout.pool=mean",
                            "flow.velocities=[[2,0],[0,-1],[-1,1]]", "readout.decoder.layers=2",
                            "lifting.kernel=5"},
                           5},
                      Case{"sig_sum",
                           {"recurrence.activation=sigmoid", "readout.pool=sum",
                            "readout.decoder.layers=0", "input.channels=2", "readout.channels=2",
                            "recurrence.kernel=1", "readout.decoder.kernel=5"},
                           3},
                      Case{"grnn",
                           {"flow.velocities.range=0", "recurrence.channels=3",
                            "sequence.input_frames=4"},
                           2}),
    [](const ::testing::TestParamInfo<Case> &info) { return std::string(info.param.name); });
