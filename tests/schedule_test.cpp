// Schedules change speed, never results: models compiled with other knobs, with a Halide
// autoscheduler, or from a tuned record compute what the default schedules compute. Records
// are matched by model and target, stale ones reported and ignored, bad ones rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "generators/pipelines.h"
#include "runtime/model/checkpoint.h"
#include "runtime/model/sequence_model.h"
#include "schedules/cpu_schedule.h"
#include "schedules/schedule_record.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

fs::path test_dir() {
    return test::test_dir("schedule");
}

std::string temp(const std::string &name) {
    return (test_dir() / name).string();
}

// Each test starts from an empty directory of its own.
class Schedules : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::remove_all(test_dir());
        fs::create_directories(test_dir());
    }
};

Spec test_spec() {
    json doc = test::tiny_spec_json();
    doc["name"] = "sched";
    doc["recurrence"]["channels"] = 8;  // several vectors' worth of knob choices
    doc["readout"]["decoder"]["layers"] = 2;
    return test::spec_from(doc);
}

template <typename T = float>
struct Outputs {
    Array<T> predictions;
    ParameterSet<T> grads;
};

// Predictions (or logits) and gradients at batch 16: the batch autoscheduled pipelines are
// scheduled for (fernn tune rejects autoscheduler results that fail at other batch sizes).
template <typename T = float>
Outputs<T> run(const std::string &dir) {
    SequenceModel<T> model(ModelLibrary::open(dir));
    const Spec &spec = model.spec();
    const auto weights = init_weights<T>(model.plan(), 4);
    const InputSpec &in = spec.input;
    const int t_in = spec.sequence.input_frames, t_out = spec.sequence.output_frames;
    const auto x = test::random_array<T>({16, t_in, 1, in.height, in.width}, 1);
    const auto y = test::random_array<T>({16, t_out, 1, in.height, in.width}, 2);
    std::vector<int64_t> labels;
    for (int b = 0; b < 16; ++b) labels.push_back(b % 3);
    typename SequenceModel<T>::Trace trace;
    typename SequenceModel<T>::Options o;
    o.mode = Mode::Train;
    o.keep_all = true;
    o.t_out = t_out;
    model.forward(weights, x, o, trace);
    Outputs<T> out;
    model.backward(weights, {model.classifies() ? nullptr : &y, &labels}, trace, out.grads);
    out.predictions = model.classifies() ? model.logits(trace) : model.predictions(trace);
    return out;
}

template <typename T>
double rel(const AlignedVector<T> &a, const AlignedVector<T> &b) {
    double d = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d += double(a[i] - b[i]) * (a[i] - b[i]);
        n += double(b[i]) * b[i];
    }
    return std::sqrt(d / n);
}

CompileResult compile_with(const Spec &spec, const std::string &dir, const json &knobs,
                           const std::string &records = "",
                           const std::string &precision = "float32",
                           const std::string &algorithm = "") {
    CompileOptions o;
    o.out_dir = dir;
    o.precision = precision;
    o.knobs = knobs;
    o.algorithm = algorithm;
    if (!knobs.empty()) o.schedule_source = "test knobs";
    o.use_records = !records.empty();
    o.records_dir = records;
    return compile_model(spec, o);
}

}  // namespace

TEST_F(Schedules, OtherKnobsAndAutoschedulersGiveTheSameResults) {
    const Halide::Target host = Halide::get_host_target();
    json classifier = test::tiny_classifier_json();
    classifier["name"] = "sched_classifier";
    for (const Spec &spec : {test_spec(), test::spec_from(classifier)}) {
        SCOPED_TRACE(spec.name);
        const ModelPlan plan = build_plan(spec);
        const int width = spec.input.width;
        compile_with(spec, temp(spec.name + "_default"), json::object());
        const Outputs<> base = run(temp(spec.name + "_default"));
        // Two variants that change every tunable stage of every pipeline: each stage's first
        // and last neighbor among the knobs the tuner would try.
        json first = json::object(), last = json::object(), autoscheduled = json::object();
        for (size_t i = 0; i < plan.pipelines.size(); ++i) {
            const std::string &p = plan.pipelines[i].name;
            gen::PipelineDef def = gen::build_pipeline(spec, plan, Halide::Float(32), int(i));
            const json defaults = sched::default_knobs(def, width, host);
            for (const auto &stage : defaults.items()) {
                const auto n = sched::knob_neighbors(def, stage.key(), stage.value(), width);
                if (n.empty())
                    continue;  // a stage with a single valid choice (e.g. 1 channel, width 7)
                first[p][stage.key()] = n.front();
                last[p][stage.key()] = n.back();
            }
            // As fernn tune: autoschedulers only where there is something to tune.
            if (!defaults.empty()) autoscheduled[p] = {{"autoscheduler", "Mullapudi2016"}};
        }
        int variant = 0;
        for (const json &knobs : {first, last, autoscheduled}) {
            SCOPED_TRACE(knobs.dump());
            const std::string dir = temp(spec.name + "_variant" + std::to_string(variant++));
            compile_with(spec, dir, knobs);
            const Outputs<> o = run(dir);
            EXPECT_LT(rel(o.predictions.data, base.predictions.data), 1e-5);
            EXPECT_LT(rel(o.grads.data, base.grads.data), 1e-5);
            EXPECT_EQ(ModelLibrary::open(dir)->manifest()["schedule"]["source"], "test knobs");
        }
    }
}

// Winograd F(2×2, 3×3) and F(4×4, 3×3) for every 3×3 correlation and weight gradient of every
// pipeline (forward and transposed; translation and rotation flows, conv stacks with zero
// padding and BatchNorm, the decoder) compute what the direct sums do, within float32 rounding,
// and in float64 within 1e-12 of the direct path that gradient_test checks against finite
// differences. Frames 8 wide; the frame predictor's 6 rows leave F(4×4) a partial last row
// of tiles.
TEST_F(Schedules, WinogradStagesComputeWhatDirectOnesDo) {
    json frames = test::tiny_spec_json(), classifier = test::tiny_classifier_json(),
         rotation = test::tiny_rotation_json();
    frames["name"] = "wino_frames";
    frames["input"] = {{"channels", 1}, {"height", 6}, {"width", 8}};
    frames["recurrence"]["channels"] = 8;
    frames["readout"]["decoder"]["layers"] = 2;
    classifier["name"] = "wino_classifier";
    classifier["input"] = {{"channels", 1}, {"height", 8}, {"width", 8}};
    // 8 channels a layer: with fewer than half a vector of output channels (AVX-512: 16 lanes)
    // the default schedule vectorizes over pixels, which Winograd does not offer.
    classifier["lifting"]["layers"][1]["channels"] = 8;
    for (auto &layer : classifier["recurrence"]["layers"]) layer["channels"] = 8;
    rotation["name"] = "wino_rotation";
    rotation["input"] = {{"channels", 1}, {"height", 8}, {"width", 8}};
    rotation["recurrence"]["channels"] = 4;
    struct Case {
        json doc;
        std::vector<std::string> algorithms;
        bool float64;
    };
    for (const Case &c :
         {Case{frames, {"winograd2", "winograd4"}, true}, Case{classifier, {"winograd4"}, false},
          Case{rotation, {"winograd2"}, false}}) {
        const Spec spec = test::spec_from(c.doc);
        SCOPED_TRACE(spec.name);
        compile_with(spec, temp(spec.name + "_direct"), json::object());
        const Outputs<> base = run(temp(spec.name + "_direct"));
        for (const std::string &algorithm : c.algorithms) {
            SCOPED_TRACE(algorithm);
            // As `fernn compile --algorithm`: every stage that can, in this algorithm.
            const std::string dir = temp(spec.name + "_" + algorithm);
            compile_with(spec, dir, json::object(), "", "float32", algorithm);
            const json used = ModelLibrary::open(dir)->manifest()["schedule"]["stages"];
            int stages = 0;
            for (const auto &p : used.items())
                for (const auto &st : p.value().items())
                    stages += st.value().value("algorithm", "") == algorithm;
            EXPECT_GE(stages, 6);
            const Outputs<> o = run(dir);
            const double e_out = rel(o.predictions.data, base.predictions.data),
                         e_grad = rel(o.grads.data, base.grads.data);
            std::printf("  %-16s %-9s %d stages: outputs rel err %.2e, gradients %.2e\n",
                        spec.name.c_str(), algorithm.c_str(), stages, e_out, e_grad);
            const double tolerance = algorithm == "winograd2" ? 2e-6 : 2e-5;
            EXPECT_LT(e_out, tolerance);
            EXPECT_LT(e_grad, tolerance);
            EXPECT_GT(e_out + e_grad, 0) << "the Winograd stages were not used";
            if (!c.float64 || algorithm != "winograd4") continue;
            compile_with(spec, temp(spec.name + "_direct64"), json::object(), "", "float64");
            compile_with(spec, dir + "_64", json::object(), "", "float64", algorithm);
            const Outputs<double> d64 = run<double>(temp(spec.name + "_direct64")),
                                  w64 = run<double>(dir + "_64");
            const double e64 = std::max(rel(w64.predictions.data, d64.predictions.data),
                                        rel(w64.grads.data, d64.grads.data));
            std::printf("  %-16s %-9s float64: rel err %.2e\n", spec.name.c_str(),
                        algorithm.c_str(), e64);
            EXPECT_LT(e64, 1e-12);
        }
    }
}

TEST_F(Schedules, RecordsAreUsedWhenCurrentAndIgnoredWhenStale) {
    const Spec spec = test_spec();
    const std::string records = temp("records");
    const std::string target = Halide::get_host_target().to_string();
    const std::string path = sched::record_path(spec, target, records);
    json record{{"algorithm_version", kAlgorithmVersion},
                {"schedule_version", sched::kCpuScheduleVersion},
                {"pipelines",
                 {{"layer0_cell_forward",
                   {{"conv_h",
                     {{"kind", "conv"},
                      {"lanes", 8},
                      {"c_vectors", 1},
                      {"x_tile", 7},
                      {"vectorize_x", false}}}}}}}};
    sched::write_record(path, record);
    CompileResult r = compile_with(spec, temp("tuned"), json::object(), records);
    EXPECT_TRUE(r.warnings.empty());
    const json m = ModelLibrary::open(temp("tuned"))->manifest();
    EXPECT_EQ(m["schedule"]["source"], path);
    EXPECT_EQ(m["schedule"]["stages"]["layer0_cell_forward"]["conv_h"]["x_tile"], 7);

    record["algorithm_version"] = kAlgorithmVersion - 1;
    sched::write_record(path, record);
    r = compile_with(spec, temp("stale"), json::object(), records);
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_NE(r.warnings[0].find("is stale"), std::string::npos) << r.warnings[0];
    EXPECT_EQ(ModelLibrary::open(temp("stale"))->manifest()["schedule"]["source"],
              "schedules/cpu_schedule.cpp defaults");
}

TEST_F(Schedules, InvalidKnobsAreBadInputNamingTheStage) {
    const Spec spec = test_spec();
    const json knobs{{"layer0_cell_forward",
                      {{"conv_h",
                        {{"kind", "conv"},
                         {"lanes", 8},
                         {"c_vectors", 1},
                         {"x_tile", 5},
                         {"vectorize_x", false}}}}}};
    ASSERT_FALSE(knobs.empty());
    try {
        compile_with(spec, temp("bad"), knobs);
        FAIL() << "no error";
    } catch (const InputError &e) {
        const std::string m = e.what();
        EXPECT_NE(
            m.find("test knobs: pipelines.layer0_cell_forward: schedule knobs for stage conv_h"),
            std::string::npos)
            << m;
        EXPECT_NE(m.find("x_tile must divide the width 7"), std::string::npos) << m;
    }
    EXPECT_THROW(compile_with(spec, temp("bad2"),
                              json{{"layer0_cell_forward", {{"no_such_stage", json::object()}}}}),
                 InputError);
    EXPECT_FALSE(fs::exists(temp("bad")));
}

TEST_F(Schedules, TuneWritesARecordThatCompileUses) {
    const std::string records = temp("tuned_records");
    const std::string spec_file = temp("spec.json");
    std::ofstream(spec_file) << test::tiny_spec_json().dump();
    const auto r = test::fernn_cli("tune " + spec_file +
                                   " --budget 15s --no-autoschedulers --records " + records);
    ASSERT_EQ(r.code, 0) << r.output;
    std::vector<fs::path> files;
    for (const auto &e : fs::directory_iterator(records)) files.push_back(e.path());
    ASSERT_EQ(files.size(), 1u);
    const json record = read_json_file(files[0].string());
    for (const char *p : {"layer0_cell_forward", "layer0_cell_backward", "lifting_backward",
                          "readout_forward", "readout_backward"}) {
        EXPECT_TRUE(record["pipelines"].contains(p)) << p;
        EXPECT_GT(record["measured_ms"][p]["default"].get<double>(), 0) << p;
        EXPECT_LE(record["measured_ms"][p]["tuned"].get<double>(),
                  record["measured_ms"][p]["default"].get<double>());
    }
    const auto with = test::fernn_cli("compile " + spec_file + " -o " + temp("model") +
                                      " --schedules " + records);
    ASSERT_EQ(with.code, 0) << with.output;
    EXPECT_NE(with.output.find("schedules: " + files[0].string()), std::string::npos)
        << with.output;
}
