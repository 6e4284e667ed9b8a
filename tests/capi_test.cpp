// The C API (runtime/capi/fernn.h) through libfernn.so, as C callers use it: its backward from
// a caller's output gradient against the runtime's built-in losses and against finite
// differences of another loss, parameters read in place, passes, the plan it describes,
// checkpoints, and bad input of every kind answered with a status and a message.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/capi/fernn.h"
#include "runtime/model/checkpoint.h"
#include "runtime/model/sequence_model.h"
#include "tests/test_support.h"

using namespace fernn;

namespace {

const std::string kTinyFrames = std::string(FERNN_SOURCE_DIR) + "/tests/specs/tiny_fernn.json";
const std::string kTinyClasses =
    std::string(FERNN_SOURCE_DIR) + "/tests/specs/tiny_classifier.json";

#define EXPECT_STATUS(call, status)                                   \
    do {                                                              \
        const fernn_status s_ = (call);                               \
        EXPECT_EQ(s_, status) << #call << ": " << fernn_last_error(); \
    } while (0)
#define ASSERT_OK(call) ASSERT_EQ((call), FERNN_OK) << #call << ": " << fernn_last_error()

struct Model {
    fernn_model *m = nullptr;
    fernn_info info{};
    Model(const std::string &spec, const std::string &precision = "float32",
          std::vector<const char *> sets = {}) {
        const fernn_status s = fernn_compile(spec.c_str(), sets.data(), sets.size(), "host",
                                             precision.c_str(), FERNN_TEST_CACHE, &m);
        EXPECT_EQ(s, FERNN_OK) << fernn_last_error();
        if (m) {
            EXPECT_EQ(fernn_get_info(m, &info), FERNN_OK);
        }
    }
    ~Model() { fernn_free(m); }
    // (B, T_in, C, H, W) of the spec's sequences.
    std::array<int64_t, 5> input(int64_t batch) const {
        return {batch, info.input_frames, info.channels, info.height, info.width};
    }
    // Elements of the outputs of a forward over `batch` sequences predicting `frames`.
    size_t outputs(int64_t batch, int64_t frames = -1) const {
        int64_t shape[5];
        int rank = 0;
        EXPECT_EQ(fernn_output_shape(m, batch, info.input_frames, frames, shape, &rank), FERNN_OK);
        int64_t n = 1;
        for (int d = 0; d < rank; ++d) n *= shape[d];
        return size_t(n);
    }
    std::string dir() const {
        const char *text = nullptr;
        fernn_describe(m, &text);
        return json::parse(text)["model_dir"];
    }
};

// Elements of a (B, T, C, H, W) input.
size_t elements(const std::array<int64_t, 5> &shape) {
    return size_t(shape[0] * shape[1] * shape[2] * shape[3] * shape[4]);
}

int64_t numel(const int64_t *shape, int rank) {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= shape[d];
    return n;
}

template <typename T>
std::vector<T> random_values(size_t n, unsigned seed, double lo = 0, double hi = 1) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(lo, hi);
    std::vector<T> v(n);
    for (auto &x : v) x = T(u(rng));
    return v;
}

double max_rel(const float *a, const float *b, size_t n) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; ++i) {
        diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
        scale = std::max(scale, std::abs(double(b[i])));
    }
    return diff / std::max(scale, 1e-30);
}

}  // namespace

// The backward from dL/d(outputs) reproduces the runtime's own backward of its built-in losses
// (MSE for frames, cross-entropy for classes, BatchNorm in training mode), given their
// gradients: the caller's path and the trainer's differ only in where the gradient comes from.
TEST(CApi, BackwardFromTheOutputGradientEqualsTheBuiltInLosses) {
    for (const std::string &spec_path : {kTinyFrames, kTinyClasses}) {
        SCOPED_TRACE(spec_path);
        Model c(spec_path);
        ASSERT_NE(c.m, nullptr);
        ASSERT_OK(fernn_init(c.m, 3));
        const int64_t B = 3;
        const auto in = c.input(B);
        const auto x = random_values<float>(elements(in), 1);
        std::vector<float> y(c.outputs(B));
        ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_TRAIN | FERNN_KEEP,
                                y.data(), int64_t(y.size())));

        // The same forward and built-in backward through the runtime.
        auto lib = ModelLibrary::open(c.dir());
        SequenceModel<float> model(lib);
        ModelWeights<float> w = init_weights<float>(model.plan(), 3);
        Array<float> xs({in[0], in[1], in[2], in[3], in[4]});
        std::copy(x.begin(), x.end(), xs.data.begin());
        Options<float> o;
        o.mode = Mode::Train;
        o.keep_all = true;
        o.t_out = int(c.info.output_frames);
        Trace<float> trace;
        model.forward(w, xs, o, trace);
        Targets<float> targets;
        Array<float> frames;
        std::vector<int64_t> labels;
        std::vector<float> d_out(y.size());
        if (c.info.classifies) {
            labels = {0, 2, 1};
            targets.labels = &labels;
            const int64_t K = c.info.classes;
            for (int64_t b = 0; b < B; ++b) {
                double top = -1e30, sum = 0;
                for (int64_t k = 0; k < K; ++k) top = std::max(top, double(y[b * K + k]));
                for (int64_t k = 0; k < K; ++k) sum += std::exp(y[b * K + k] - top);
                for (int64_t k = 0; k < K; ++k) {
                    d_out[b * K + k] = float((std::exp(y[b * K + k] - top) / sum -
                                              (k == labels[size_t(b)] ? 1.0 : 0.0)) /
                                             B);
                }
            }
        } else {
            frames = Array<float>(
                {B, c.info.output_frames, c.info.channels, c.info.height, c.info.width});
            const auto t = random_values<float>(y.size(), 2);
            std::copy(t.begin(), t.end(), frames.data.begin());
            targets.frames = &frames;
            for (size_t i = 0; i < y.size(); ++i) d_out[i] = 2 * (y[i] - t[i]) / float(y.size());
        }
        ParameterSet<float> builtin;
        model.backward(w, targets, trace, builtin);
        std::vector<float> g(size_t(c.info.parameter_count));
        ASSERT_OK(fernn_backward(c.m, nullptr, d_out.data(), int64_t(d_out.size()), g.data(),
                                 int64_t(g.size())));
        for (size_t k = 0; k < builtin.infos.size(); ++k) {
            SCOPED_TRACE(builtin.infos[k].name);
            const int64_t off = builtin.infos[k].offset, n = builtin.infos[k].numel();
            EXPECT_LT(max_rel(g.data() + off, builtin.tensor(k), size_t(n)), 1e-5);
        }
    }
}

// Every parameter entry's gradient of a loss that is not the built-in one (a weighted sum of
// the predictions plus their L1 norm) against central differences, on a float64 build. One
// predicted frame: later ones read predictions fed back without gradient, as the reference.
TEST(CApi, GradientsOfAnyLossMatchFiniteDifferences) {
    Model c(kTinyFrames, "float64", {"recurrence.channels=3", "readout.decoder.layers=1"});
    ASSERT_NE(c.m, nullptr);
    ASSERT_OK(fernn_init(c.m, 11));
    const auto in = c.input(2);
    const size_t n_out = c.outputs(2, 1);
    const auto x = random_values<double>(elements(in), 4);
    const auto weight = random_values<double>(n_out, 5, -1, 1);
    auto loss_of = [&](std::vector<double> &y) {
        EXPECT_EQ(fernn_forward(c.m, nullptr, x.data(), in.data(), 1, FERNN_TRAIN | FERNN_KEEP,
                                y.data(), int64_t(n_out)),
                  FERNN_OK);
        double l = 0;
        for (size_t i = 0; i < n_out; ++i) l += weight[i] * y[i] + std::abs(y[i]);
        return l;
    };
    std::vector<double> y(n_out), d_out(n_out);
    loss_of(y);
    for (size_t i = 0; i < n_out; ++i) d_out[i] = weight[i] + (y[i] > 0 ? 1 : -1);
    const size_t P = size_t(c.info.parameter_count);
    std::vector<double> g(P), params(P);
    ASSERT_OK(fernn_backward(c.m, nullptr, d_out.data(), int64_t(n_out), g.data(), int64_t(P)));
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, params.data(), int64_t(P)));
    const double eps = 1e-6;
    int checked = 0;
    for (int64_t t = 0; t < c.info.tensor_counts[FERNN_PARAMETERS]; ++t) {
        fernn_tensor_info ti;
        ASSERT_OK(fernn_get_tensor(c.m, FERNN_PARAMETERS, t, &ti));
        SCOPED_TRACE(ti.name);
        double diff2 = 0, norm2 = 0;
        for (int64_t i = ti.offset; i < ti.offset + ti.count; ++i) {
            std::vector<double> p = params;
            p[size_t(i)] += eps;
            ASSERT_OK(fernn_write(c.m, FERNN_PARAMETERS, p.data(), int64_t(P)));
            const double up = loss_of(y);
            p[size_t(i)] -= 2 * eps;
            ASSERT_OK(fernn_write(c.m, FERNN_PARAMETERS, p.data(), int64_t(P)));
            const double down = loss_of(y);
            const double fd = (up - down) / (2 * eps);
            diff2 += (fd - g[size_t(i)]) * (fd - g[size_t(i)]);
            norm2 += fd * fd;
            ++checked;
        }
        EXPECT_LT(std::sqrt(diff2 / std::max(norm2, 1e-30)), 1e-6);
    }
    EXPECT_GT(checked, 100);
}

// Bound parameters are read where the caller keeps them (here at an address that is not
// vector-aligned), written there by fernn_write and fernn_init, and copied back on unbinding.
TEST(CApi, BoundParametersAreReadAndWrittenInPlace) {
    Model c(kTinyFrames);
    ASSERT_NE(c.m, nullptr);
    ASSERT_OK(fernn_init(c.m, 1));
    const size_t P = size_t(c.info.parameter_count);
    const auto in = c.input(2);
    const size_t n_out = c.outputs(2, -1);
    const auto x = random_values<float>(elements(in), 6);
    std::vector<float> y0(n_out), y1(n_out);
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_EVAL, y0.data(),
                            int64_t(y0.size())));

    std::vector<float> storage(P + 1);
    float *bound = storage.data() + 1;  // 4 bytes past an aligned allocation
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, bound, int64_t(P)));
    ASSERT_OK(fernn_bind_parameters(c.m, bound, int64_t(P)));
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_EVAL, y1.data(),
                            int64_t(y1.size())));
    EXPECT_EQ(y0, y1);
    for (size_t i = 0; i < P; ++i) bound[i] *= 0.5f;  // no fernn_write: read in place
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_EVAL, y1.data(),
                            int64_t(y1.size())));
    EXPECT_NE(y0, y1);
    ASSERT_OK(fernn_init(c.m, 1));  // writes go to the bound memory
    std::vector<float> fresh(P);
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, fresh.data(), int64_t(P)));
    EXPECT_EQ(0, std::memcmp(fresh.data(), bound, P * sizeof(float)));
    for (size_t i = 0; i < P; ++i) bound[i] *= 2.0f;
    ASSERT_OK(fernn_bind_parameters(c.m, nullptr, 0));  // copies back
    std::fill(storage.begin(), storage.end(), 0.0f);    // no longer read
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, fresh.data(), int64_t(P)));
    ASSERT_OK(fernn_init(c.m, 1));
    std::vector<float> init(P);
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, init.data(), int64_t(P)));
    for (size_t i = 0; i < P; ++i) ASSERT_EQ(fresh[i], 2.0f * init[i]) << i;
}

// Passes keep several forwards alive: each backward reads its own.
TEST(CApi, PassesKeepSeveralForwardsForTheirBackwards) {
    Model c(kTinyFrames);
    ASSERT_NE(c.m, nullptr);
    ASSERT_OK(fernn_init(c.m, 2));
    const size_t P = size_t(c.info.parameter_count);
    const auto in = c.input(2);
    const size_t n_out = c.outputs(2, -1);
    const auto xa = random_values<float>(elements(in), 7);
    const auto xb = random_values<float>(elements(in), 8);
    const auto d = random_values<float>(n_out, 9, -1, 1);
    std::vector<float> y(n_out), ga(P), gb(P), g(P);
    // Alone, through the model's own pass.
    ASSERT_OK(fernn_forward(c.m, nullptr, xa.data(), in.data(), -1, FERNN_KEEP, y.data(),
                            int64_t(n_out)));
    ASSERT_OK(fernn_backward(c.m, nullptr, d.data(), int64_t(n_out), ga.data(), int64_t(P)));
    ASSERT_OK(fernn_forward(c.m, nullptr, xb.data(), in.data(), -1, FERNN_KEEP, y.data(),
                            int64_t(n_out)));
    ASSERT_OK(fernn_backward(c.m, nullptr, d.data(), int64_t(n_out), gb.data(), int64_t(P)));
    EXPECT_NE(ga, gb);
    // Both forwards first, in two passes; then both backwards, in the other order.
    fernn_pass *pa = nullptr, *pb = nullptr;
    ASSERT_OK(fernn_pass_create(c.m, &pa));
    ASSERT_OK(fernn_pass_create(c.m, &pb));
    ASSERT_OK(
        fernn_forward(c.m, pa, xa.data(), in.data(), -1, FERNN_KEEP, y.data(), int64_t(n_out)));
    ASSERT_OK(
        fernn_forward(c.m, pb, xb.data(), in.data(), -1, FERNN_KEEP, y.data(), int64_t(n_out)));
    ASSERT_OK(fernn_backward(c.m, pb, d.data(), int64_t(n_out), g.data(), int64_t(P)));
    EXPECT_EQ(g, gb);
    ASSERT_OK(fernn_backward(c.m, pa, d.data(), int64_t(n_out), g.data(), int64_t(P)));
    EXPECT_EQ(g, ga);
    ASSERT_OK(fernn_backward(c.m, pa, d.data(), int64_t(n_out), g.data(), int64_t(P)));  // again
    EXPECT_EQ(g, ga);
    // A pass of another model is refused.
    Model other(kTinyFrames);
    EXPECT_STATUS(fernn_backward(other.m, pa, d.data(), int64_t(n_out), g.data(), int64_t(P)),
                  FERNN_INVALID_INPUT);
    fernn_pass_free(pa);
    fernn_pass_free(pb);
}

// What the model is: the description lists the plan's tensors and the velocity order; hidden
// states are the runtime's; init is `fernn init`'s; a saved checkpoint loads into a second
// model with the same outputs.
TEST(CApi, DescriptionHiddenStatesInitAndCheckpoints) {
    Model c(kTinyClasses);
    ASSERT_NE(c.m, nullptr);
    const char *text = nullptr;
    ASSERT_OK(fernn_describe(c.m, &text));
    const json d = json::parse(text);
    auto lib = ModelLibrary::open(c.dir());
    const ModelPlan &plan = lib->plan();
    ASSERT_EQ(d["parameters"].size(), plan.params.size());
    for (size_t i = 0; i < plan.params.size(); ++i) {
        EXPECT_EQ(d["parameters"][i]["name"], plan.params[i].name);
        EXPECT_EQ(d["parameters"][i]["offset"], plan.params[i].offset);
    }
    EXPECT_EQ(d["velocities"].size(), size_t(c.info.copies));
    EXPECT_EQ(d["counters"].size(), plan.counters.size());
    EXPECT_EQ(c.info.tensor_counts[FERNN_STATISTICS], int64_t(plan.buffers.size()));
    fernn_tensor_info ti;
    ASSERT_OK(fernn_get_tensor(c.m, FERNN_COUNTERS, 0, &ti));
    EXPECT_EQ(ti.name, plan.counters[0]);
    EXPECT_EQ(ti.rank, 0);

    ASSERT_OK(fernn_init(c.m, 42));
    const ModelWeights<float> w = init_weights<float>(plan, 42);
    std::vector<float> p(size_t(c.info.parameter_count));
    ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, p.data(), int64_t(p.size())));
    EXPECT_EQ(0, std::memcmp(p.data(), w.params.data.data(), p.size() * sizeof(float)));

    const auto in = c.input(2);
    const auto x = random_values<float>(elements(in), 12);
    std::vector<float> logits(size_t(2 * c.info.classes)), again(logits.size());
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_TRAIN, logits.data(),
                            int64_t(logits.size())));  // moves the running statistics
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_KEEP, logits.data(),
                            int64_t(logits.size())));
    for (int layer = 0; layer < c.info.layers; ++layer) {
        int64_t shape[6];
        ASSERT_OK(fernn_hidden_shape(c.m, nullptr, layer, shape));
        std::vector<float> h(size_t(numel(shape, 6)));
        ASSERT_OK(fernn_hidden_states(c.m, nullptr, layer, h.data(), int64_t(h.size())));
        // The runtime's encode: evaluation mode, from the weights the model now has.
        SequenceModel<float> model(lib);
        ModelWeights<float> now{ParameterSet<float>::zeros(plan),
                                RunningStats<float>::initial(plan)};
        ASSERT_OK(fernn_read(c.m, FERNN_PARAMETERS, now.params.data.data(), int64_t(p.size())));
        ASSERT_OK(fernn_read(c.m, FERNN_STATISTICS, now.stats.data.data(), c.info.statistic_count));
        Array<float> xs({in[0], in[1], in[2], in[3], in[4]});
        std::copy(x.begin(), x.end(), xs.data.begin());
        Options<float> o;
        o.keep_all = true;
        Trace<float> trace;
        model.forward(now, xs, o, trace);
        const Array<float> ref = model.hidden_states(trace, layer, 0, int(in[1]));
        ASSERT_EQ(ref.data.size(), h.size());
        EXPECT_EQ(0, std::memcmp(ref.data.data(), h.data(), h.size() * sizeof(float)));
    }
    // The kept evaluation-mode forward of a BatchNorm model serves hidden states, not the
    // backward.
    std::vector<float> g(size_t(c.info.parameter_count));
    EXPECT_STATUS(fernn_backward(c.m, nullptr, logits.data(), int64_t(logits.size()), g.data(),
                                 int64_t(g.size())),
                  FERNN_INVALID_STATE);

    const std::string path = ::testing::TempDir() + "/capi_ckpt.safetensors";
    ASSERT_OK(fernn_save(c.m, path.c_str()));
    Model second(kTinyClasses);
    ASSERT_OK(fernn_load(second.m, path.c_str()));
    std::vector<int64_t> counters(size_t(c.info.counter_count));
    ASSERT_OK(fernn_read(second.m, FERNN_COUNTERS, counters.data(), int64_t(counters.size())));
    // One training-mode forward: BatchNorm counts each step, as the reference's does.
    for (int64_t n : counters) EXPECT_EQ(n, c.info.input_frames);
    ASSERT_OK(fernn_forward(second.m, nullptr, x.data(), in.data(), -1, FERNN_EVAL, again.data(),
                            int64_t(again.size())));
    EXPECT_EQ(logits, again);
}

// Bad input of every kind: a status, a message naming what was wrong, nothing crashes, and
// the model keeps working afterwards.
TEST(CApi, BadInputGetsAStatusAndAMessage) {
    auto message_has = [](const std::string &part) {
        return std::string(fernn_last_error()).find(part) != std::string::npos;
    };
    fernn_model *none = nullptr;
    EXPECT_STATUS(fernn_open(nullptr, &none), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_open("/nonexistent/model", &none), FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("/nonexistent/model"));
    EXPECT_EQ(none, nullptr);
    EXPECT_STATUS(fernn_open("/tmp", nullptr), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_compile("/nonexistent.json", nullptr, 0, "host", "float32", nullptr, &none),
                  FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("/nonexistent.json"));
    const char *bad_set[] = {"recurrence.channels=-1"};
    EXPECT_STATUS(
        fernn_compile(kTinyFrames.c_str(), bad_set, 1, "host", "float32", FERNN_TEST_CACHE, &none),
        FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("recurrence.channels")) << fernn_last_error();
    const char *null_set[] = {nullptr};
    EXPECT_STATUS(
        fernn_compile(kTinyFrames.c_str(), null_set, 1, "host", "float32", nullptr, &none),
        FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_compile(kTinyFrames.c_str(), nullptr, 0, "host", "float16", nullptr, &none),
                  FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("float32"));
    EXPECT_STATUS(
        fernn_compile(kTinyFrames.c_str(), nullptr, 0, "z80", "float32", FERNN_TEST_CACHE, &none),
        FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("z80"));
    const std::string hostile = ::testing::TempDir() + "/capi_hostile.json";
    std::ofstream(hostile) << "{\"fernn\": 1, \"name\": [[[[[[";
    EXPECT_STATUS(fernn_compile(hostile.c_str(), nullptr, 0, "host", "float32", nullptr, &none),
                  FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has(hostile));
    EXPECT_EQ(none, nullptr);

    // Null models.
    fernn_info info;
    EXPECT_STATUS(fernn_get_info(nullptr, &info), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_init(nullptr, 0), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_forward(nullptr, nullptr, nullptr, nullptr, -1, 0, nullptr, 0),
                  FERNN_INVALID_INPUT);
    fernn_free(nullptr);
    fernn_pass_free(nullptr);

    Model c(kTinyFrames);
    ASSERT_NE(c.m, nullptr);
    const size_t P = size_t(c.info.parameter_count);
    std::vector<float> params(P), grads(P);
    const auto in = c.input(2);
    const size_t n_out = c.outputs(2, -1);
    const auto x = random_values<float>(elements(in), 3);
    std::vector<float> y(n_out);
    // Backward before any forward was kept.
    EXPECT_STATUS(fernn_backward(c.m, nullptr, y.data(), int64_t(n_out), grads.data(), int64_t(P)),
                  FERNN_INVALID_STATE);
    EXPECT_TRUE(message_has("FERNN_KEEP"));
    int64_t h[6];
    EXPECT_STATUS(fernn_hidden_shape(c.m, nullptr, 0, h), FERNN_INVALID_STATE);
    // Wrong shapes, counts and flags.
    const int64_t wrong[5] = {2, in[1], in[2], in[3] + 1, in[4]};
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), wrong, -1, 0, y.data(), int64_t(n_out)),
                  FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("needs (B, T, 1, 6, 7)")) << fernn_last_error();
    const int64_t zero_batch[5] = {0, in[1], in[2], in[3], in[4]};
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), zero_batch, -1, 0, nullptr, 0),
                  FERNN_INVALID_INPUT);
    const int64_t huge[5] = {int64_t(1) << 40, in[1], in[2], in[3], in[4]};
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), huge, -1, 0, nullptr, 0),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(
        fernn_forward(c.m, nullptr, x.data(), in.data(), -1, 0, y.data(), int64_t(n_out) - 1),
        FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has(std::to_string(n_out)));
    EXPECT_STATUS(fernn_forward(c.m, nullptr, nullptr, in.data(), -1, 0, y.data(), int64_t(n_out)),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), nullptr, -1, 0, y.data(), int64_t(n_out)),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, 8, y.data(), int64_t(n_out)),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_forward(c.m, nullptr, x.data(), in.data(), 100000, 0, nullptr, 0),
                  FERNN_INVALID_INPUT);
    ASSERT_OK(
        fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_KEEP, y.data(), int64_t(n_out)));
    EXPECT_STATUS(
        fernn_backward(c.m, nullptr, y.data(), int64_t(n_out) + 1, grads.data(), int64_t(P)),
        FERNN_INVALID_INPUT);
    EXPECT_STATUS(
        fernn_backward(c.m, nullptr, y.data(), int64_t(n_out), grads.data(), int64_t(P) - 1),
        FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_backward(c.m, nullptr, nullptr, int64_t(n_out), grads.data(), int64_t(P)),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_backward(c.m, nullptr, y.data(), int64_t(n_out), nullptr, int64_t(P)),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_hidden_shape(c.m, nullptr, 5, h), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_hidden_states(c.m, nullptr, 0, y.data(), 1), FERNN_INVALID_INPUT);
    // Groups, tensors, weights.
    EXPECT_STATUS(fernn_read(c.m, fernn_group(7), params.data(), int64_t(P)), FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("FERNN_PARAMETERS"));
    EXPECT_STATUS(fernn_read(c.m, FERNN_PARAMETERS, params.data(), int64_t(P) + 1),
                  FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_read(c.m, FERNN_PARAMETERS, nullptr, int64_t(P)), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_write(c.m, FERNN_CONSTANTS, params.data(), 0), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_write(c.m, FERNN_DERIVED, params.data(), 0), FERNN_INVALID_INPUT);
    fernn_tensor_info ti;
    EXPECT_STATUS(fernn_get_tensor(c.m, FERNN_PARAMETERS, -1, &ti), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_get_tensor(c.m, FERNN_PARAMETERS, 99, &ti), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_bind_parameters(c.m, params.data(), int64_t(P) - 1), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_bind_parameters(c.m, nullptr, 5), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_set_threads(c.m, -2), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_use_device(c.m, "tpu"), FERNN_INVALID_INPUT);
    EXPECT_STATUS(fernn_use_device(c.m, "cuda"), FERNN_UNAVAILABLE);  // compiled for "host"
    EXPECT_STATUS(fernn_load(c.m, "/nonexistent.safetensors"), FERNN_INVALID_INPUT);
    const std::string garbage = ::testing::TempDir() + "/capi_garbage.safetensors";
    std::ofstream(garbage) << "\xff\xff\xff\xff\xff\xff\xff\x7f{}";
    EXPECT_STATUS(fernn_load(c.m, garbage.c_str()), FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has(garbage));
    Model classifier(kTinyClasses);
    const std::string other = ::testing::TempDir() + "/capi_other.safetensors";
    ASSERT_OK(fernn_save(classifier.m, other.c_str()));
    EXPECT_STATUS(fernn_load(c.m, other.c_str()), FERNN_INVALID_INPUT);
    EXPECT_TRUE(message_has("not part of spec"));
    const std::string unwritable = "/nonexistent/dir/x.safetensors";
    EXPECT_NE(fernn_save(c.m, unwritable.c_str()), FERNN_OK);

    // Still working.
    std::vector<float> y2(n_out);
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, FERNN_KEEP, y2.data(),
                            int64_t(n_out)));
    EXPECT_EQ(y, y2);
    ASSERT_OK(fernn_backward(c.m, nullptr, y.data(), int64_t(n_out), grads.data(), int64_t(P)));
}

// libfernn_run.so has no compiler: fernn_compile says so; it opens and runs compiled models
// exactly as libfernn.so does.
TEST(CApi, RunLibraryOpensCompiledModelsButDoesNotCompile) {
    void *run = dlopen(FERNN_CAPI_RUN_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(run, nullptr) << dlerror();
    auto compile = reinterpret_cast<decltype(&fernn_compile)>(dlsym(run, "fernn_compile"));
    auto open = reinterpret_cast<decltype(&fernn_open)>(dlsym(run, "fernn_open"));
    auto init = reinterpret_cast<decltype(&fernn_init)>(dlsym(run, "fernn_init"));
    auto forward = reinterpret_cast<decltype(&fernn_forward)>(dlsym(run, "fernn_forward"));
    auto last_error = reinterpret_cast<decltype(&fernn_last_error)>(dlsym(run, "fernn_last_error"));
    auto release = reinterpret_cast<decltype(&fernn_free)>(dlsym(run, "fernn_free"));
    ASSERT_TRUE(compile && open && init && forward && last_error && release);
    fernn_model *m = nullptr;
    EXPECT_EQ(compile(kTinyFrames.c_str(), nullptr, 0, "host", "float32", nullptr, &m),
              FERNN_UNAVAILABLE);
    EXPECT_NE(std::string(last_error()).find("fernn compile"), std::string::npos);

    Model c(kTinyFrames);
    ASSERT_NE(c.m, nullptr);
    ASSERT_EQ(open(c.dir().c_str(), &m), FERNN_OK) << last_error();
    ASSERT_OK(fernn_init(c.m, 5));
    ASSERT_EQ(init(m, 5), FERNN_OK);
    const auto in = c.input(2);
    const size_t n_out = c.outputs(2, -1);
    const auto x = random_values<float>(elements(in), 3);
    std::vector<float> a(n_out), b(n_out);
    ASSERT_OK(fernn_forward(c.m, nullptr, x.data(), in.data(), -1, 0, a.data(), int64_t(a.size())));
    ASSERT_EQ(forward(m, nullptr, x.data(), in.data(), -1, 0, b.data(), int64_t(b.size())),
              FERNN_OK);
    EXPECT_EQ(a, b);
    release(m);
    dlclose(run);
}
