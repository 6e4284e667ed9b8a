// The fernn command line: exit codes, messages that name the file and JSON path, and no
// partial output left behind by a failing command.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/npy.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

using Result = test::CliResult;
using test::fernn_cli;

class Cli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::test_dir("cli");
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        spec_ = path("spec.json");
        std::ofstream(spec_) << test::tiny_spec_json().dump(2);
    }
    std::string path(const std::string &name) const { return (dir_ / name).string(); }
    std::string write_spec(const std::string &name, const json &doc) const {
        std::ofstream(path(name)) << doc.dump(2);
        return path(name);
    }
    fs::path dir_;
    std::string spec_;
};

}  // namespace

TEST_F(Cli, CheckPrintsASummary) {
    const Result r = fernn_cli("check " + spec_);
    EXPECT_EQ(r.code, 0) << r.output;
    for (const char *part : {"|V| = 9", "(-1,-1)", "parameters", "cell.conv_h.weight", "FLOPs"}) {
        EXPECT_NE(r.output.find(part), std::string::npos) << part << " in " << r.output;
    }
}

TEST_F(Cli, BadSpecExitsWithCode2AndNamesFileAndPath) {
    json doc = test::tiny_spec_json();
    doc["recurrence"]["activation"] = "swish";
    const std::string bad = write_spec("bad.json", doc);
    const Result r = fernn_cli("check " + bad);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find(bad + ": recurrence.activation: got string \"swish\"; allowed: one of"),
              std::string::npos)
        << r.output;
    const Result s = fernn_cli("check " + spec_ + " --set flow.velocities.range=9");
    EXPECT_EQ(s.code, 2);
    EXPECT_NE(s.output.find("set by --set flow.velocities.range=9"), std::string::npos) << s.output;
}

TEST_F(Cli, UnknownSubcommandsAndHostileFilesExitWith2) {
    Result r = fernn_cli("trian " + spec_);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("unknown subcommand \"trian\" (did you mean \"train\"?); allowed: check,"),
              std::string::npos)
        << r.output;
    r = fernn_cli("data imprt-npm x");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("unknown subcommand \"imprt-npm\" (did you mean \"import-npm\"?)"),
              std::string::npos)
        << r.output;
    // A number beyond double's range: exit 2 naming the file (was a library exception, exit 1).
    std::ofstream(path("overflow.json")) << "{\"fernn\": 1e400}";
    r = fernn_cli("check " + path("overflow.json"));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find(path("overflow.json") + ": not valid JSON"), std::string::npos) << r.output;
    // 70,000 nested brackets as a whole argument: CLI11 would split it recursively, copying it
    // at every level (gigabytes); refused before parsing.
    r = fernn_cli("check " + spec_ + " '--set=" + std::string(70000, '[') + "a=1" +
                  std::string(50000, ']') + "'");
    EXPECT_EQ(r.code, 2) << r.output.substr(0, 300);
    EXPECT_NE(r.output.find("starts with 70000 nested '['; allowed: at most 64"), std::string::npos)
        << r.output.substr(0, 300);
    // 100,000 nested brackets in a --set value: exit 2, no stack overflow.
    r = fernn_cli("check " + spec_ + " '--set=recurrence.channels=" + std::string(100000, '[') + "'");
    EXPECT_EQ(r.code, 2) << r.output.substr(0, 300);
    EXPECT_NE(r.output.find("nested more than 64 levels"), std::string::npos) << r.output.substr(0, 300);
}

TEST_F(Cli, FailingCommandsLeaveNoPartialOutput) {
    json doc = test::tiny_spec_json();
    doc["lifting"]["kernel"] = 2;
    const std::string bad = write_spec("bad.json", doc);
    EXPECT_EQ(fernn_cli("compile " + bad + " -o " + path("model")).code, 2);
    EXPECT_FALSE(fs::exists(path("model")));
    EXPECT_FALSE(fs::exists(path("model") + ".staging-0"));
    // An existing checkpoint survives a failing init that targets it.
    write_file_atomically(path("ckpt.safetensors"), "precious");
    EXPECT_EQ(fernn_cli("init " + bad + " --seed 1 --out " + path("ckpt.safetensors")).code, 2);
    EXPECT_EQ(read_file_bytes(path("ckpt.safetensors")), "precious");
    for (const auto &e : fs::directory_iterator(dir_)) {
        EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
    }
}

TEST_F(Cli, CompileWritesLibraryAndManifest) {
    const Result r = fernn_cli("compile " + spec_ + " -o " + path("model"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(path("model/libt.so")));
    const json m = read_json_file(path("model/t.manifest.json"));
    EXPECT_EQ(m["name"], "t");
    EXPECT_EQ(m["precision"], "float32");
    EXPECT_EQ(m["velocities"].size(), 9u);
    EXPECT_EQ(m["parameters"][1]["name"], "cell.conv_h.weight");
    std::vector<std::string> names;
    for (const auto &p : m["pipelines"]) names.push_back(p["name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"lifting_forward", "lifting_backward",
                                               "layer0_cell_forward", "layer0_cell_forward_first",
                                               "layer0_cell_backward", "layer0_cell_backward_first",
                                               "readout_forward", "readout_backward", "frame_loss",
                                               "frame_loss_gradient", "grad_accumulate",
                                               "fill_zero", "optimizer_step"}));
    EXPECT_TRUE(m["schedule"]["stages"].contains("layer0_cell_forward"));
    // The manifest records the plan: parameters at their offsets, every pipeline's signature.
    EXPECT_EQ(m["plan"]["parameters"][1]["name"], "cell.conv_h.weight");
    EXPECT_EQ(m["plan"]["pipelines"][2]["name"], "layer0_cell_forward");
    EXPECT_EQ(m["plan"]["pipelines"][2]["inputs"][1]["name"], "h_prev");
    // Nothing but the library and the manifest is left in the output directory.
    int files = 0;
    for (const auto &e : fs::directory_iterator(path("model"))) files += e.is_regular_file();
    EXPECT_EQ(files, 2);
    const Result bad_target =
        fernn_cli("compile " + spec_ + " -o " + path("m2") + " --target pdp11");
    EXPECT_EQ(bad_target.code, 2);
    EXPECT_NE(bad_target.output.find("\"pdp11\" is not a Halide target"), std::string::npos)
        << bad_target.output;
    EXPECT_FALSE(fs::exists(path("m2")));
    const Result bad_algorithm =
        fernn_cli("compile " + spec_ + " -o " + path("m3") + " --algorithm winograd3");
    EXPECT_EQ(bad_algorithm.code, 2);
    EXPECT_NE(bad_algorithm.output.find("--algorithm"), std::string::npos) << bad_algorithm.output;
    EXPECT_NE(bad_algorithm.output.find("winograd4"), std::string::npos) << bad_algorithm.output;
    EXPECT_FALSE(fs::exists(path("m3")));

    // Damaged model directories are refused with exit code 2 before the library is loaded.
    ASSERT_EQ(fernn_cli("init " + spec_ + " --seed 3 --out " + path("w.safetensors")).code, 0);
    write_npy(path("x.npy"), test::random_array<float>({1, 3, 1, 6, 7}, 1));
    auto predict_with = [&](const std::string &dir) {
        return fernn_cli("predict " + spec_ + " --model " + dir + " --checkpoint " +
                         path("w.safetensors") + " --input " + path("x.npy") + " --output " +
                         path("y.npy"));
    };
    ASSERT_EQ(predict_with(path("model")).code, 0);
    auto damaged = [&](const std::string &name, const std::function<void(const std::string &)> &edit) {
        fs::remove_all(path(name));
        fs::copy(path("model"), path(name));
        edit(path(name));
        return predict_with(path(name));
    };
    Result d = damaged("truncated", [](const std::string &dir) {
        fs::resize_file(dir + "/libt.so", fs::file_size(dir + "/libt.so") / 2);
    });
    EXPECT_EQ(d.code, 2) << d.output;
    EXPECT_NE(d.output.find("libt.so: does not match the hash recorded in"), std::string::npos)
        << d.output;
    d = damaged("wrong_type", [](const std::string &dir) {
        json m = read_json_file(dir + "/t.manifest.json");
        m["precision"] = 32;
        write_file_atomically(dir + "/t.manifest.json", m.dump());
    });
    EXPECT_EQ(d.code, 2) << d.output;
    EXPECT_NE(d.output.find("t.manifest.json: precision: got number 32"), std::string::npos)
        << d.output;
    d = damaged("edited_spec", [](const std::string &dir) {
        json m = read_json_file(dir + "/t.manifest.json");
        m["spec"]["recurrence"]["layers"][0]["activation"] = "tanh";
        write_file_atomically(dir + "/t.manifest.json", m.dump());
    });
    EXPECT_EQ(d.code, 2) << d.output;
    EXPECT_NE(d.output.find("model_hash: does not match the manifest's spec"), std::string::npos)
        << d.output;
}

TEST_F(Cli, PredictEncodeGradientsRunAndCheckTheirInputs) {
    ASSERT_EQ(fernn_cli("init " + spec_ + " --seed 3 --out " + path("ckpt.safetensors")).code, 0);
    write_npy(path("x.npy"), test::random_array<float>({2, 3, 1, 6, 7}, 1));
    write_npy(path("y.npy"), test::random_array<float>({2, 2, 1, 6, 7}, 2));
    const std::string common =
        spec_ + " --checkpoint " + path("ckpt.safetensors") + " --input " + path("x.npy");

    Result r = fernn_cli("predict " + common + " --output " + path("p.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("p.npy")).shape, (std::vector<int64_t>{2, 2, 1, 6, 7}));
    r = fernn_cli("predict " + common + " --output " + path("p5.npy") + " --frames 5");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("p5.npy")).shape[1], 5);

    r = fernn_cli("encode " + common + " --output " + path("h.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("h.npy")).shape, (std::vector<int64_t>{2, 3, 9, 4, 6, 7}));
    EXPECT_NE(r.output.find("velocity order (axis 2): (-1,-1) (-1,0) (-1,1) (0,-1)"),
              std::string::npos)
        << r.output;

    r = fernn_cli("gradients " + common + " --target " + path("y.npy") + " --out " +
                  path("g.safetensors"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("loss "), std::string::npos);

    // A wrongly shaped input: exit 2, the file and the expected shape named, output untouched.
    write_npy(path("wrong.npy"), test::random_array<float>({2, 3, 1, 7, 6}, 1));
    write_file_atomically(path("keep.npy"), "old");
    r = fernn_cli("predict " + spec_ + " --checkpoint " + path("ckpt.safetensors") + " --input " +
                  path("wrong.npy") + " --output " + path("keep.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find(path("wrong.npy") +
                            ": input has shape (2, 3, 1, 7, 6); spec t needs (B, T, 1, 6, 7) with B in 1..1048576"),
              std::string::npos)
        << r.output;
    EXPECT_EQ(read_file_bytes(path("keep.npy")), "old");

    // A checkpoint of another model: exit 2, the tensor named.
    ASSERT_EQ(fernn_cli("init " + spec_ + " --set recurrence.channels=5 --seed 3 --out " +
                        path("c5.safetensors"))
                  .code,
              0);
    r = fernn_cli("predict " + spec_ + " --checkpoint " + path("c5.safetensors") + " --input " +
                  path("x.npy") + " --output " + path("q.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("has shape (5, 1, 3, 3) but spec t needs (4, 1, 3, 3)"),
              std::string::npos)
        << r.output;

    // A model directory compiled from another spec is refused.
    ASSERT_EQ(fernn_cli("compile " + spec_ + " --set recurrence.channels=5 -o " + path("m5")).code,
              0);
    r = fernn_cli("predict " + common + " --model " + path("m5") + " --output " + path("q.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("compiled from another model"), std::string::npos) << r.output;
    EXPECT_FALSE(fs::exists(path("q.npy")));
}

TEST_F(Cli, ClassifiersPredictLogitsAndTakeLabels) {
    const std::string spec = path("classifier.json");
    std::ofstream(spec) << test::tiny_classifier_json().dump(2);
    ASSERT_EQ(fernn_cli("init " + spec + " --seed 3 --out " + path("cc.safetensors")).code, 0);
    write_npy(path("cx.npy"), test::random_array<float>({3, 4, 1, 7, 6}, 1));
    write_npy_integers(path("labels.npy"), {1, 2, 0});
    write_npy_integers(path("labels7.npy"), {1, 2, 7});
    const std::string common =
        spec + " --checkpoint " + path("cc.safetensors") + " --input " + path("cx.npy");
    Result r = fernn_cli("predict " + common + " --output " + path("logits.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("logits.npy")).shape, (std::vector<int64_t>{3, 3}));

    // Every layer's states, one file each; or one layer.
    r = fernn_cli("encode " + common + " --output " + path("h.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("h.layer0.npy")).shape,
              (std::vector<int64_t>{3, 4, 9, 4, 7, 6}));
    EXPECT_EQ(read_npy<float>(path("h.layer1.npy")).shape,
              (std::vector<int64_t>{3, 4, 9, 5, 7, 6}));
    r = fernn_cli("encode " + common + " --layer 1 --output " + path("h1.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("h1.npy")).shape[3], 5);
    r = fernn_cli("encode " + common + " --layer 2 --output " + path("h2.npy"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("--layer 2: the model has 2 recurrent layer(s); allowed: 0..1"),
              std::string::npos)
        << r.output;

    r = fernn_cli("gradients " + common + " --labels " + path("labels.npy") + " --out " +
                  path("cg.safetensors"));
    ASSERT_EQ(r.code, 0) << r.output;
    // Frames where labels belong, labels out of range: exit 2, nothing written.
    r = fernn_cli("gradients " + common + " --target " + path("cx.npy") + " --out " +
                  path("bad.safetensors"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("readout.kind is \"classes\": gradients needs --labels"),
              std::string::npos)
        << r.output;
    r = fernn_cli("gradients " + common + " --labels " + path("labels7.npy") + " --out " +
                  path("bad.safetensors"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("label 2 is 7; allowed: 0..2"), std::string::npos) << r.output;
    write_npy(path("flabels.npy"), test::random_array<float>({3}, 1));
    r = fernn_cli("gradients " + common + " --labels " + path("flabels.npy") + " --out " +
                  path("bad.safetensors"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.output.find("dtype '<f4' is not supported; allowed: '<i8' (int64) or '<i4'"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(path("bad.safetensors")));
}

TEST_F(Cli, EverySubcommandHasHelp) {
    for (const char *cmd :
         {"check", "compile", "init", "predict", "encode", "gradients", "equivariance"}) {
        const Result r = fernn_cli(std::string(cmd) + " --help");
        EXPECT_EQ(r.code, 0) << cmd;
        EXPECT_NE(r.output.find("--set"), std::string::npos) << cmd << ": " << r.output;
    }
}

// fernn equivariance: the theorem on the spec's own model, a line per nu_hat; exit 1 when an
// exact case fails, 2 for what has no group action or a malformed --nu.
TEST_F(Cli, EquivarianceChecksTheTheoremOnTheSpecsModel) {
    const std::string rotation = write_spec("rotation.json", test::tiny_rotation_json());
    Result r = fernn_cli("equivariance " + rotation);
    ASSERT_EQ(r.code, 0) << r.output;
    for (const char *line : {"0deg", "90deg", "180deg", "270deg", "exact (pixel permutation)",
                             ": equivariant"})
        EXPECT_NE(r.output.find(line), std::string::npos) << line << " not in: " << r.output;
    // A translation FERNN on its torus, two given velocities.
    r = fernn_cli("equivariance " + spec_ + " --nu 1,0 --nu -1,1");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("(1,0)"), std::string::npos) << r.output;
    // A rotation G-RNN is not equivariant to quarter turns: exit 1.
    json grnn = test::tiny_rotation_json();
    grnn["flow"]["velocities"] = {0};
    r = fernn_cli("equivariance " + write_spec("grnn.json", grnn) + " --nu 90");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("NOT equivariant"), std::string::npos) << r.output;
    // Learned flows have no group; malformed elements are named.
    r = fernn_cli("equivariance " + rotation + " --nu 1,2");
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("allowed: one angle in degrees"), std::string::npos) << r.output;
    r = fernn_cli("equivariance " + spec_ + " --nu x,1");
    EXPECT_EQ(r.code, 2) << r.output;
    json learned = test::tiny_classifier_json();
    learned["flow"] = json::parse(
        R"({"group": "learned", "copies": 4, "kernel": 3, "boundary": "circular"})");
    r = fernn_cli("equivariance " + write_spec("learned.json", learned));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("no theorem to check"), std::string::npos) << r.output;
}

// Clips of turning digits (`data sample --angular-velocities`) train a rotation model as they
// are (the shifts of translation models' clips are not applied), and `encode` gives its hidden
// states; generated Rotating MNIST is tested in train_test.cpp.
TEST_F(Cli, RotationModelsTrainOnClipsOfTurningDigits) {
    const std::string spec = write_spec("rotation.json", test::tiny_rotation_json());
    Result r = fernn_cli("data sample --data fashion-mnist --split train --count 4 --frames 5 "
                         "--size 7 --angular-velocities 0 90 0 --out " + path("clips/bad.npy"));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("--angular-velocities: value 0 is listed twice"), std::string::npos)
        << r.output;
    fs::create_directories(path("clips"));
    r = fernn_cli("data sample --data fashion-mnist --split train --count 16 --frames 5 --size 7 "
                  "--angular-velocities 0 90 --out " + path("clips/clips.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    r = fernn_cli("train " + spec + " --data clips:" + path("clips") + " --steps 2 --batch 2 --out " +
                  path("run"));
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::exists(path("run/last.safetensors"))) << r.output;
    // The hidden states of a rotation model: (B, T, |V|, fields·N, H, W), copies by angle.
    write_npy(path("x.npy"), test::random_array<float>({2, 3, 1, 7, 7}, 1));
    r = fernn_cli("encode --run " + path("run") + " --input " + path("x.npy") + " --output " +
                  path("h.npy"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(read_npy<float>(path("h.npy")).shape, (std::vector<int64_t>{2, 3, 4, 8, 7, 7}));
    EXPECT_NE(r.output.find("copy order (axis 2): 0deg 90deg 180deg 270deg"), std::string::npos)
        << r.output;
}
