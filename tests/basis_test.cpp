// fernn's C_N steerable basis against escnn's own tensors (tests/goldens/escnn_basis/, made by
// make_escnn_basis.py from escnn's source), and the symmetries it must have exactly on the grid.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/formats/npy.h"
#include "runtime/groups/cyclic_basis.h"

namespace fernn {
namespace {

const std::string kGoldens = std::string(FERNN_SOURCE_DIR) + "/tests/goldens/escnn_basis/";

// Largest |fernn − escnn| over the golden's elements (escnn samples in float32).
double golden_error(const SteerableBasis &basis, const Array<float> &golden,
                    const std::vector<int> &elements) {
    const int64_t per = int64_t(basis.out_size) * basis.in_size * basis.kernel * basis.kernel;
    EXPECT_EQ(golden.numel(), int64_t(elements.size()) * per);
    double worst = 0;
    for (size_t e = 0; e < elements.size(); ++e)
        for (int64_t i = 0; i < per; ++i)
            worst = std::max(worst, std::abs(basis.values[size_t(elements[e] * per + i)] -
                                             double(golden.data[size_t(int64_t(e) * per + i)])));
    return worst;
}

std::vector<int> all(int n) {
    std::vector<int> v(n);
    for (int i = 0; i < n; ++i) v[i] = i;
    return v;
}

struct Case {
    int n, k;
    FieldKind in;
    const char *file;
};

TEST(CyclicBasis, MatchesEscnn) {
    for (const Case &c : {Case{4, 3, FieldKind::Trivial, "trivial_N4_k3"},
                          Case{4, 3, FieldKind::Regular, "regular_N4_k3"},
                          Case{8, 3, FieldKind::Trivial, "trivial_N8_k3"},
                          Case{8, 3, FieldKind::Regular, "regular_N8_k3"},
                          Case{36, 3, FieldKind::Trivial, "trivial_N36_k3"},
                          Case{4, 5, FieldKind::Trivial, "trivial_N4_k5"},
                          Case{4, 5, FieldKind::Regular, "regular_N4_k5"}}) {
        SCOPED_TRACE(c.file);
        const SteerableBasis basis = cyclic_steerable_basis(c.n, c.k, c.in);
        const Array<float> golden = read_npy<float>(kGoldens + c.file + ".npy");
        ASSERT_EQ(golden.shape[0], basis.elements);
        EXPECT_LT(golden_error(basis, golden, all(basis.elements)), 1e-6);
    }
}

TEST(CyclicBasis, MatchesEscnnSliceOfN36) {
    std::ifstream in(kGoldens + "counts.json");
    const auto meta = nlohmann::json::parse(in);
    const std::vector<int> elements = meta["regular_N36_k3_elements"];
    const SteerableBasis basis = cyclic_steerable_basis(36, 3, FieldKind::Regular);
    EXPECT_EQ(basis.elements, 216);
    EXPECT_LT(golden_error(basis, read_npy<float>(kGoldens + "regular_N36_k3.npy"), elements),
              1e-6);
}

TEST(CyclicBasis, ElementCountsMatchEscnn) {
    std::ifstream in(kGoldens + "counts.json");
    const auto meta = nlohmann::json::parse(in);
    for (const auto &c : meta["counts"]) {
        const FieldKind kind = c["in"] == "regular" ? FieldKind::Regular : FieldKind::Trivial;
        EXPECT_EQ(cyclic_steerable_basis(c["N"], c["k"], kind).elements, int(c["elements"]))
            << "N=" << c["N"] << " k=" << c["k"] << " in=" << c["in"];
    }
}

TEST(CyclicBasis, WeightsExpandToEscnnFilter) {
    // Two output and three input regular fields of C_4: filter[o·N+a, c·N+b, row, col].
    const SteerableBasis basis = cyclic_steerable_basis(4, 3, FieldKind::Regular);
    const Array<float> weights = read_npy<float>(kGoldens + "expansion_weights.npy");
    const Array<float> golden = read_npy<float>(kGoldens + "expansion_filter.npy");
    ASSERT_EQ(weights.numel(), 2 * 3 * basis.elements);
    const std::vector<float> filter = expand_steerable_filter(basis, weights.data.data(), 2, 3);
    ASSERT_EQ(int64_t(filter.size()), golden.numel());
    for (size_t i = 0; i < filter.size(); ++i) EXPECT_NEAR(filter[i], golden.data[i], 1e-6);
}

TEST(CyclicBasis, InitialStandardDeviationsMatchEscnn) {
    std::ifstream in(kGoldens + "counts.json");
    const auto meta = nlohmann::json::parse(in);
    for (const auto &c : meta["init_std"]) {
        const FieldKind kind = c["in"] == "regular" ? FieldKind::Regular : FieldKind::Trivial;
        const SteerableBasis basis = cyclic_steerable_basis(c["N"], c["k"], kind);
        const int fields_in = c["fields_in"], fields_out = c["fields_out"];
        const std::vector<double> std_per_element = steerable_init_std(basis, fields_in);
        const std::vector<double> golden = c["std"];
        ASSERT_EQ(golden.size(), size_t(fields_out) * fields_in * basis.elements);
        for (size_t w = 0; w < golden.size(); ++w)
            EXPECT_NEAR(std_per_element[w % basis.elements], golden[w], 1e-6)
                << "N=" << c["N"] << " weight " << w;
    }
}

// Every element is exactly C_4-equivariant on the grid when 4 divides N: rotating the taps by
// 90° (counter-clockwise, y up) equals shifting both orientation axes by N/4.
TEST(CyclicBasis, QuarterTurnsAreExactOnTheGrid) {
    for (int n : {4, 8, 12, 36}) {
        for (FieldKind kind : {FieldKind::Trivial, FieldKind::Regular}) {
            for (int k : {3, 5}) {
                const SteerableBasis b = cyclic_steerable_basis(n, k, kind);
                const int c = (k - 1) / 2, q = n / 4;
                double worst = 0;
                for (int e = 0; e < b.elements; ++e)
                    for (int a = 0; a < b.out_size; ++a)
                        for (int i = 0; i < b.in_size; ++i)
                            for (int p = 0; p < k * k; ++p) {
                                const int x = p % k - c, y = c - p / k;
                                // (x, y) turned by +90° is (−y, x).
                                const int rx = -y, ry = x;
                                const int rp = (c - ry) * k + (rx + c);
                                const int ra = (a + q) % n,
                                          ri = kind == FieldKind::Regular ? (i + q) % n : i;
                                worst = std::max(worst, std::abs(b.at(e, ra, ri, rp) - b.at(e, a, i, p)));
                            }
                EXPECT_LT(worst, 1e-12) << "N=" << n << " k=" << k;
            }
        }
    }
}

TEST(CyclicBasis, ElementBoundHoldsAndIsClose) {
    for (int n : {1, 4, 5, 8, 36})
        for (int k : {1, 3, 5})
            for (FieldKind kind : {FieldKind::Trivial, FieldKind::Regular}) {
                const int exact = cyclic_steerable_basis(n, k, kind).elements;
                const int64_t bound = cyclic_basis_elements_bound(n, k, kind);
                EXPECT_GE(bound, exact) << "N=" << n << " k=" << k;
                EXPECT_LE(bound, 2 * exact + 8) << "N=" << n << " k=" << k;
            }
}

TEST(CyclicBasis, RefusesBadSizes) {
    EXPECT_THROW(cyclic_steerable_basis(0, 3, FieldKind::Regular), std::invalid_argument);
    EXPECT_THROW(cyclic_steerable_basis(4, 4, FieldKind::Regular), std::invalid_argument);
}

}  // namespace
}  // namespace fernn
