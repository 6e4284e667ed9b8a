// Hostile input, one test per class of defect the adversarial review found (issue 9). Each
// reader gets a small file built to crash it or make it allocate gigabytes; it must throw an
// InputError naming the file, quickly and without growing the process. Runtime-only (no
// Halide compiler): built and run again under ASan + UBSan by tools/fuzz.sh.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <functional>
#include <map>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/idx.h"
#include "runtime/formats/npy.h"
#include "runtime/formats/safetensors.h"
#include "runtime/model/manifest.h"
#include "runtime/plan/plan.h"
#include "runtime/spec/spec.h"
#include "runtime/training/metrics_log.h"
#include "runtime/training/resume_metadata.h"
#include "runtime/training/run_record.h"
#include "tests/gzip_bytes.h"
#include "tests/test_specs.h"

using namespace fernn;

namespace {

const std::string kTinySpec = test::tiny_spec_json().dump();

// Peak resident memory of this process so far, in MiB.
double peak_rss_mib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

// Runs `read`, which must throw an InputError whose message holds every one of `parts`,
// while the process's peak memory grows by less than 64 MiB.
void expect_refused(const std::function<void()> &read, const std::vector<std::string> &parts) {
    const double before = peak_rss_mib();
    std::string message;
    try {
        read();
    } catch (const InputError &e) {
        message = e.what();
    }
    ASSERT_FALSE(message.empty()) << "accepted; expected an InputError with " << parts[0];
    for (const auto &p : parts) EXPECT_NE(message.find(p), std::string::npos) << message;
    EXPECT_LT(peak_rss_mib() - before, 64) << message;
    EXPECT_LT(message.size(), 1000u) << "messages quote a bounded prefix";
}

std::string nested(size_t depth, const std::string &inner = "1") {
    return std::string(depth, '[') + inner + std::string(depth, ']');
}

std::string npy(const std::string &dict, size_t payload, int version = 1) {
    std::string out("\x93NUMPY", 6);
    out.push_back(char(version));
    out.push_back('\0');
    for (int i = 0; i < (version == 1 ? 2 : 4); ++i) out.push_back(char((dict.size() >> (8 * i)) & 0xff));
    return out + dict + std::string(payload, '\0');
}

std::string safetensors(const std::string &header, const std::string &data) {
    std::string out;
    for (int i = 0; i < 8; ++i) out.push_back(char((uint64_t(header.size()) >> (8 * i)) & 0xff));
    return out + header + data;
}

std::string idx_header(const std::vector<uint32_t> &dims) {
    std::string out{'\0', '\0', '\x08', char(dims.size())};
    for (uint32_t d : dims) {
        for (int k = 3; k >= 0; --k) out.push_back(char((d >> (8 * k)) & 0xff));
    }
    return out;
}

}  // namespace

// Recursion on untrusted depth: 60,000 nested brackets crashed json::dump in messages.
TEST(HostileInput, DeepJsonIsRefusedEverywhere) {
    const std::string deep = nested(60000);
    expect_refused([&] { parse_json_strict(deep, "spec.json"); },
                   {"spec.json", "nested more than 64 levels"});
    expect_refused(
        [&] {
            json doc = json::parse(kTinySpec);
            JsonSource source{"spec.json", {}};
            apply_override(doc, "recurrence.channels=" + deep, source);
        },
        {"--set recurrence.channels", "nested more than 64"});
    expect_refused([&] { parse_safetensors<float>(safetensors(deep, ""), "w.safetensors"); },
                   {"w.safetensors", "nested more than 64"});
    expect_refused([&] { parse_metrics("{\"step\": " + deep + "}\n", "metrics.jsonl"); },
                   {"metrics.jsonl line 1", "nested"});
    // A shallower document (within the limit) is described by a bounded prefix.
    json doc = json::parse(kTinySpec);
    doc["recurrence"]["channels"] = json::parse(nested(60, "\"" + std::string(100000, 'x') + "\""));
    expect_refused([&] { parse_spec(doc, JsonSource{"spec.json", {}}); },
                   {"spec.json: recurrence.channels: got array [[[[[..."});
}

// std::regex recursed per character of a legal 30 KB .npy header.
TEST(HostileInput, LongNpyHeadersParseWithoutRegex) {
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" +
                             std::string(30000, ' ') + "\n";
    const Array<float> a = parse_npy<float>(npy(dict, 8, 2), "long.npy");
    EXPECT_EQ(a.shape, std::vector<int64_t>{2});
    expect_refused([&] { parse_npy<float>(npy(std::string(70000, ' '), 0, 2), "huge.npy"); },
                   {"huge.npy", "header of 70000 bytes; allowed: at most 65536"});
}

// Sizes that wrap around 2^64 passed the payload check and overflowed buffers.
TEST(HostileInput, ShapesThatOverflowAreRefused) {
    expect_refused(
        [&] {
            parse_npy<float>(npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                 "(576460752303423488, 64, 0), }",
                                 0),
                             "wrap.npy");
        },
        {"wrap.npy", "needs more than 2^64"});
    expect_refused(
        [&] {
            parse_npy_header(npy("{'descr': '|u1', 'fortran_order': False, 'shape': "
                                 "(4294967296, 4294967296), }",
                                 16),
                             100, "clips.npy");
        },
        {"clips.npy", "more than 2^64"});
}

TEST(HostileInput, ArrayCountIsChecked) {
    EXPECT_THROW(Array<float>::count({int64_t(1) << 62, 8}), std::length_error);
    EXPECT_THROW(Array<float>::count({-1, 8}), std::length_error);
    EXPECT_EQ(Array<float>::count({0, int64_t(1) << 62}), 0);
}

// IDX: dimensions that wrapped to 0, and a 16-byte file claiming 2^30 images.
TEST(HostileInput, IdxSizesAreCheckedBeforeAllocating) {
    expect_refused(
        [&] { parse_idx(idx_header({65536, 65536, 65536, 65536}), "images-idx3-ubyte"); },
        {"images-idx3-ubyte", "claim more than 2^64 bytes"});
    expect_refused([&] { parse_idx(idx_header({1u << 30, 28, 28}), "images-idx3-ubyte"); },
                   {"allowed: at most 4294967296"});
    expect_refused([&] { parse_idx(idx_header({1u << 20, 28}), "images-idx3-ubyte"); },
                   {"payload has 0 bytes but its dimensions need 29360128"});
}

// gzip was inflated without bound.
TEST(HostileInput, GzipInflationIsBounded) {
    // 1 GiB of zeros claimed, ~1 MB compressed: beyond 100x the compressed size.
    const std::string bomb = test::gzip_bytes(idx_header({4096, 512, 512}) + std::string(64 << 20, '\0'));
    ASSERT_LT(bomb.size(), 1u << 20);
    expect_refused([&] { parse_idx_gzip(bomb, "images.gz"); },
                   {"images.gz", "allowed: at most 100 times the compressed size"});
    // The header claims 1 KiB but the stream inflates to 64 MiB.
    const std::string liar = test::gzip_bytes(idx_header({1, 32, 32}) + std::string(64 << 20, '\0'));
    expect_refused([&] { parse_idx_gzip(liar, "images.gz"); },
                   {"inflates beyond the 1040 bytes its IDX header claims"});
    expect_refused([&] { parse_idx_gzip(liar.substr(0, liar.size() / 2), "images.gz"); },
                   {"images.gz"});
    // An honest file still reads.
    const IdxArray ok = parse_idx_gzip(test::gzip_bytes(idx_header({2, 3}) + "abcdef"), "ok.gz");
    EXPECT_EQ(ok.dims, (std::vector<int>{2, 3}));
}

TEST(HostileInput, SafetensorsSizesAreChecked) {
    expect_refused(
        [&] {
            parse_safetensors<float>(
                safetensors(R"({"t":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})", ""),
                "w.safetensors");
        },
        {"w.safetensors", "holds number 4611686018427387904"});
    expect_refused(
        [&] {
            std::string bytes = safetensors("{}", "");
            bytes[7] = '\x7f';
            parse_safetensors<float>(bytes, "w.safetensors");
        },
        {"exceeds the file"});
}

// 1e400 escaped as a library exception with exit code 1.
TEST(HostileInput, NumberOverflowIsAnInputError) {
    expect_refused([&] { parse_json_strict(R"({"a": 1e400})", "spec.json"); },
                   {"spec.json: not valid JSON", "number overflow"});
}

// A 330-byte spec made `fernn check` use 3 GB.
TEST(HostileInput, HugeModelsAreRefusedWithTheLimit) {
    json doc = json::parse(kTinySpec);
    doc["input"]["height"] = doc["input"]["width"] = 4096;
    doc["flow"]["velocities"]["range"] = 2047;
    expect_refused([&] { parse_spec(doc, JsonSource{"big.json", {}}); },
                   {"big.json: flow.velocities.range", "allowed: an integer in 0..31"});
    doc["flow"]["velocities"]["range"] = 31;
    doc["recurrence"]["channels"] = 64;
    expect_refused([&] { parse_spec(doc, JsonSource{"big.json", {}}); },
                   {"big.json: recurrence", "allowed: at most 268435456"});
}

// run.json settings were type-checked only: batch 0 crashed the trainer with SIGFPE.
TEST(HostileInput, RunSettingsAreRangeChecked) {
    const Spec spec = parse_spec(json::parse(kTinySpec), JsonSource{"spec.json", {}});
    TrainSettings t;
    t.steps = 10;
    const json good{{"fernn_run", 1},
                    {"spec", spec.normalized()},
                    {"model_hash", spec.model_hash()},
                    {"settings", t.to_json()}};
    EXPECT_EQ(parse_run_record(good, "run.json").settings.batch, t.batch);
    const std::map<std::string, json> bad = {{"batch", 0},        {"lr", -1e-3},
                                             {"steps", -100},     {"clip_grad_norm", -1},
                                             {"val_every", -1},   {"val_sequences", 0},
                                             {"data_velocity_range", -2}, {"batch", "8"},
                                             {"seed", -1}};
    for (const auto &[key, value] : bad) {
        json doc = good;
        doc["settings"][key] = value;
        expect_refused([&] { parse_run_record(doc, "run.json"); }, {"run.json", "settings." + key});
    }
    json doc = good;
    doc["settings"]["data_velocity_range"] = 3;  // does not fit 6x7 frames
    expect_refused([&] { parse_run_record(doc, "run.json"); }, {"run.json", "allowed: 0..2"});
    doc = good;
    doc["spec"]["recurrence"]["layers"][0]["activation"] = "tanh";  // no longer the hashed model
    expect_refused([&] { parse_run_record(doc, "run.json"); }, {"run.json: model_hash"});
    // The data's motion must be the flow group's: a translation run with angular velocities,
    // both motions at once, or a rotation run without them are refused.
    doc = good;
    doc["settings"].erase("data_velocity_range");
    doc["settings"]["data_angular_velocities"] = {0, 10};
    expect_refused([&] { parse_run_record(doc, "run.json"); },
                   {"run.json", "flow group \"translation\" trains on translating data"});
    doc["settings"]["data_velocity_range"] = 1;
    expect_refused([&] { parse_run_record(doc, "run.json"); },
                   {"settings.data_velocity_range", "allowed: one of them"});
    const Spec rotation = parse_spec(test::tiny_rotation_json(), JsonSource{"rot.json", {}});
    TrainSettings r;
    r.steps = 10;
    r.angular_velocities = {-10, 0, 10};
    json turning{{"fernn_run", 1},
                 {"spec", rotation.normalized()},
                 {"model_hash", rotation.model_hash()},
                 {"settings", r.to_json()}};
    EXPECT_EQ(parse_run_record(turning, "run.json").settings.angular_velocities,
              r.angular_velocities);
    turning["settings"]["data_angular_velocities"] = {10, 10};
    expect_refused([&] { parse_run_record(turning, "run.json"); },
                   {"settings.data_angular_velocities[1]", "listed twice"});
    turning["settings"].erase("data_angular_velocities");
    turning["settings"]["data_velocity_range"] = 1;
    expect_refused([&] { parse_run_record(turning, "run.json"); },
                   {"run.json", "trains on turning data"});
}

// Resume metadata was parsed with stoll/stod: "-100", "4x" and "nan" were accepted.
TEST(HostileInput, ResumeMetadataIsStrict) {
    const std::map<std::string, std::string> good = {{"fernn.model_hash", "h"},
                                                     {"fernn.step", "100"},
                                                     {"fernn.adam_steps", "100"},
                                                     {"fernn.best_val", "0.25"},
                                                     {"fernn.best_step", "50"}};
    EXPECT_EQ(parse_resume_metadata(good, "resume.safetensors", "h").step, 100);
    for (const auto &[key, value] :
         std::vector<std::pair<std::string, std::string>>{{"fernn.step", "-100"},
                                                          {"fernn.step", "4x"},
                                                          {"fernn.step", " 12"},
                                                          {"fernn.adam_steps", "99999999999999999999"},
                                                          {"fernn.best_val", "nan"},
                                                          {"fernn.best_val", "1e999"},
                                                          {"fernn.best_step", "101"}}) {
        auto meta = good;
        meta[key] = value;
        expect_refused([&] { parse_resume_metadata(meta, "resume.safetensors", "h"); },
                       {"resume.safetensors: metadata"});
    }
}

// Wrong types in a manifest escaped as json::type_error (exit 1, no file name); an edited
// spec was not checked against the model hash.
TEST(HostileInput, ManifestsAreCheckedField_By_Field) {
    const Spec spec = parse_spec(json::parse(kTinySpec), JsonSource{"spec.json", {}});
    const json good{{"library_version", 6},
                    {"spec", spec.normalized()},
                    {"model_hash", spec.model_hash()},
                    {"plan", build_plan(spec).to_json()},
                    {"precision", "float32"},
                    {"library", "libt.so"},
                    {"library_hash", "0123456789abcdef"},
                    {"pipelines", {{{"name", "forward"}, {"symbol", "t_forward"},
                                    {"inputs", {"x"}}, {"outputs", {"y"}}}}}};
    EXPECT_EQ(parse_manifest(good, "t.manifest.json").pipelines.size(), 1u);
    const std::vector<std::pair<std::string, json>> bad = {
        {"library_version", "6"}, {"library", 5},          {"library", "../../x.so"},
        {"precision", 32},        {"pipelines", json::object()}, {"model_hash", "0"},
        {"plan", json::array()}};
    for (const auto &[key, value] : bad) {
        json doc = good;
        doc[key] = value;
        expect_refused([&] { parse_manifest(doc, "t.manifest.json"); }, {"t.manifest.json"});
    }
    json edited = good;
    edited["spec"]["recurrence"]["layers"][0]["activation"] = "tanh";
    expect_refused([&] { parse_manifest(edited, "t.manifest.json"); },
                   {"t.manifest.json", "does not match the manifest's spec"});
}

TEST(HostileInput, MetricsLinesAreChecked) {
    EXPECT_EQ(parse_metrics("{\"step\": 1}\n{\"step\": 2, \"loss\"", "m.jsonl").size(), 1u)
        << "a line cut short by a kill is dropped";
    expect_refused([&] { parse_metrics("{\"step\": 1}\n{\"step\": \"x\"}\n", "m.jsonl"); },
                   {"m.jsonl line 2"});
    expect_refused([&] { parse_metrics("[1]\n", "m.jsonl"); }, {"m.jsonl line 1"});
}

TEST(HostileInput, FilesAreReadWithinTheirLimits) {
    const std::string dir = ::testing::TempDir();
    expect_refused([&] { read_file_bytes(dir, 10); }, {"not a regular file"});
    write_file_atomically(dir + "/big.json", std::string(100, ' '));
    expect_refused([&] { read_file_bytes(dir + "/big.json", 10); },
                   {"big.json: is 100 bytes; allowed: at most 10"});
}
