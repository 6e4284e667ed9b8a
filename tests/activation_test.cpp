// The activations as the pipelines compute them (JIT, float32 and float64), against libm in
// double: float32 tanh is our own vectorizable expression (generators/activation.cpp), so its
// accuracy, its limits and its NaN behaviour are checked here rather than only through the
// models' parity tests.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "generators/activation.h"

using namespace fernn;

namespace {

// Values that cover tanh's regimes: around 0 (where 1 - exp(-2|x|) would cancel), the switch
// at |x| = 1/8, the bulk, saturation, and the non-finite values.
std::vector<double> inputs() {
    std::vector<double> v;
    for (int i = -4000; i <= 4000; i++) v.push_back(i * 0.005);           // -20 .. 20
    for (double x = 1e-30; x < 1; x *= 1.7) v.insert(v.end(), {x, -x});  // tiny to 1
    for (double x : {0.125, 0.12499999, 0.12500001, 9.0, 44.0, 88.0, 1e30}) {
        v.insert(v.end(), {x, -x});
    }
    v.push_back(0.0);
    return v;
}

template <typename T>
std::vector<T> run(const std::string &kind, const std::vector<double> &x) {
    Halide::Buffer<T> in(static_cast<int>(x.size()));
    for (size_t i = 0; i < x.size(); i++) in(static_cast<int>(i)) = static_cast<T>(x[i]);
    Halide::Var i("i");
    Halide::Func f("f");
    f(i) = gen::activate(kind, in(i));
    f.vectorize(i, 8, Halide::TailStrategy::GuardWithIf);
    Halide::Buffer<T> out = f.realize({static_cast<int>(x.size())});
    return std::vector<T>(out.data(), out.data() + x.size());
}

TEST(Activation, Float32TanhWithinHalfAMicroOfLibm) {
    const std::vector<double> x = inputs();
    const std::vector<float> y = run<float>("tanh", x);
    double worst = 0;
    for (size_t i = 0; i < x.size(); i++) {
        const double ref = std::tanh(static_cast<double>(static_cast<float>(x[i])));
        ASSERT_TRUE(std::isfinite(y[i])) << "tanh(" << x[i] << ") = " << y[i];
        ASSERT_LE(std::abs(y[i]), 1.0f) << "tanh(" << x[i] << ")";
        if (ref != 0) worst = std::max(worst, std::abs(y[i] - ref) / std::abs(ref));
        if (ref == 0) {
            EXPECT_EQ(y[i], 0.0f);
        }
        EXPECT_EQ(std::signbit(y[i]), std::signbit(ref)) << "tanh(" << x[i] << ")";
    }
    EXPECT_LT(worst, 5e-7);  // measured 3.9e-7; libm's float tanh is within ~1.6e-7
}

TEST(Activation, Float32TanhOfNonFinite) {
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> y =
        run<float>("tanh", {inf, -inf, std::numeric_limits<double>::quiet_NaN()});
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[1], -1.0f);
    EXPECT_TRUE(std::isnan(y[2]));  // a diverging run must still see NaN in its loss
}

TEST(Activation, NaNPassesThroughEveryActivation) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const char *kind : {"relu", "tanh", "sigmoid", "none"}) {
        EXPECT_TRUE(std::isnan(run<float>(kind, {nan})[0])) << kind;
        EXPECT_TRUE(std::isnan(run<double>(kind, {nan})[0])) << kind;
    }
}

TEST(Activation, Float64KeepsLibm) {
    const std::vector<double> x = inputs();
    const std::vector<double> y = run<double>("tanh", x);
    for (size_t i = 0; i < x.size(); i++) {
        ASSERT_NEAR(y[i], std::tanh(x[i]), 1e-15 * (1 + std::abs(std::tanh(x[i])))) << x[i];
    }
}

TEST(Activation, OthersAgainstTheirDefinitions) {
    const std::vector<double> x = inputs();
    const std::vector<float> relu = run<float>("relu", x), sigmoid = run<float>("sigmoid", x),
                             none = run<float>("none", x);
    for (size_t i = 0; i < x.size(); i++) {
        const float xf = static_cast<float>(x[i]);
        EXPECT_EQ(relu[i], std::max(xf, 0.0f));
        EXPECT_EQ(none[i], xf);
        // Also where Halide's own exp fails (|x| beyond ~1e10 gives exp = 0).
        EXPECT_NEAR(sigmoid[i], 1.0 / (1.0 + std::exp(-static_cast<double>(xf))), 1e-6) << xf;
    }
}

}  // namespace
