// Spec validation: every class of bad input names the JSON path, the bad value and what is
// allowed; normalization and overrides behave as documented.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/plan/plan.h"
#include "tests/test_specs.h"

using namespace fernn;
using fernn::test::spec_from;
using fernn::test::tiny_spec_json;

namespace {

// The message of the InputError that parsing `doc` throws ("" if none).
std::string error_of(const json &doc) {
    try {
        spec_from(doc);
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

std::string error_of_text(const std::string &text) {
    try {
        parse_json_strict(text, "x.json");
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

void expect_contains(const std::string &message, std::initializer_list<const char *> parts) {
    EXPECT_FALSE(message.empty()) << "no error was raised";
    for (const char *p : parts)
        EXPECT_NE(message.find(p), std::string::npos) << "\"" << p << "\" not in: " << message;
}

}  // namespace

TEST(Spec, ValidTinySpecParses) {
    const Spec s = spec_from(tiny_spec_json());
    EXPECT_EQ(s.copies(), 9);
    EXPECT_EQ(s.top_channels(), 4);
    EXPECT_EQ(s.training.batch, 128);  // training is optional, with the paper's defaults
}

TEST(SpecErrors, MisspeltKeysAreNamedWithTheirCorrection) {
    json doc = tiny_spec_json();
    doc["recurrence"].erase("channels");
    doc["recurrence"]["chanels"] = 4;
    expect_contains(error_of(doc),
                    {"<test>: recurrence.channels: required field is missing; did you mean "
                     "\"channels\" instead of \"chanels\"?"});
    doc = tiny_spec_json();
    doc["readout"]["decoder"]["kernal"] = 3;
    expect_contains(error_of(doc), {"readout.decoder.kernal: unknown key (did you mean \"kernel\"?)"});
    doc = tiny_spec_json();
    doc["readout"]["colour"] = 3;  // nothing close: no guess
    const std::string message = error_of(doc);
    expect_contains(message, {"readout.colour: unknown key; allowed keys here"});
}

TEST(Spec, DefaultDataVelocityRangeFitsSmallFrames) {
    json doc = tiny_spec_json();
    doc["input"]["height"] = doc["input"]["width"] = 4;
    doc["flow"]["velocities"]["range"] = 1;
    EXPECT_EQ(spec_from(doc).training.data_velocity_range, 1);  // the default 2 would not fit
    doc["training"] = {{"data_velocity_range", 2}};
    expect_contains(error_of(doc), {"training.data_velocity_range", "allowed: an integer in 0..1"});
}

TEST(Spec, Version1NormalizesToItsVersion2Form) {
    // v1's one-conv lifting and one-layer recurrence, written out in v2's long forms.
    json v2 = tiny_spec_json();
    v2["fernn"] = 2;
    v2["lifting"] = json::parse(R"({"layers": [{"channels": 4, "kernel": 3, "padding": "circular",
                                    "batchnorm": false, "activation": "none"}]})");
    v2["recurrence"] =
        json::parse(R"({"layers": [{"channels": 4, "kernel": 3, "activation": "relu"}]})");
    v2["readout"]["kind"] = "frames";
    const Spec a = spec_from(tiny_spec_json()), b = spec_from(v2);
    EXPECT_EQ(a.normalized(), b.normalized());
    EXPECT_EQ(a.model_hash(), b.model_hash());
    EXPECT_EQ(a.normalized()["fernn"], 2);
    EXPECT_TRUE(a.lifting.single_conv());
    // The normal form is itself a valid spec with the same meaning.
    EXPECT_EQ(spec_from(a.normalized()).normalized(), a.normalized());
}

TEST(Spec, ClassifierSpecParsesAndNormalizes) {
    const Spec s = spec_from(test::tiny_classifier_json());
    EXPECT_EQ(s.readout.kind, "classes");
    EXPECT_EQ(s.layers(), 2);
    EXPECT_EQ(s.recurrence.layers[1].input->in_channels, 4);
    EXPECT_EQ(s.lifting.layers[1].in_channels, 3);
    EXPECT_EQ(s.sequence.output_frames, 0);
    EXPECT_FALSE(s.normalized()["sequence"].contains("output_frames"));
    EXPECT_EQ(spec_from(s.normalized()).model_hash(), s.model_hash());
}

TEST(Spec, RangeVelocitiesFollowTheReferenceOrder) {
    // Reference: [(x, y) for x in range(-R, R+1) for y in range(-R, R+1)].
    const Spec s = spec_from(tiny_spec_json());
    const std::vector<std::vector<int>> expected{{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 0},
                                                 {0, 1},   {1, -1}, {1, 0},  {1, 1}};
    EXPECT_EQ(s.flow.velocities, expected);
}

TEST(Spec, RangeAndEquivalentListNormalizeAndHashAlike) {
    json doc = tiny_spec_json();
    json listed = doc;
    listed["flow"]["velocities"] =
        json::parse("[[-1,-1],[-1,0],[-1,1],[0,-1],[0,0],[0,1],[1,-1],[1,0],[1,1]]");
    EXPECT_EQ(spec_from(doc).normalized(), spec_from(listed).normalized());
    EXPECT_EQ(spec_from(doc).model_hash(), spec_from(listed).model_hash());
    json other = doc;
    other["recurrence"]["channels"] = 5;
    EXPECT_NE(spec_from(doc).model_hash(), spec_from(other).model_hash());
    json training = doc;
    training["training"] = {{"lr", 0.5}};
    EXPECT_EQ(spec_from(doc).model_hash(), spec_from(training).model_hash());  // no recompile
}

TEST(Spec, ParameterNamesAndShapesMatchTheReferenceStateDict) {
    json doc = tiny_spec_json();
    doc["readout"]["decoder"]["layers"] = 2;
    const auto params = build_plan(spec_from(doc)).params;
    ASSERT_EQ(params.size(), 5u);
    EXPECT_EQ(params[0].name, "cell.conv_u.weight");
    EXPECT_EQ(params[0].shape, (std::vector<int64_t>{4, 1, 3, 3}));
    EXPECT_EQ(params[1].name, "cell.conv_h.weight");
    EXPECT_EQ(params[2].name, "decoder_conv.0.weight");
    EXPECT_EQ(params[3].name, "decoder_conv.2.weight");
    EXPECT_EQ(params[4].name, "decoder_conv.4.weight");
    EXPECT_EQ(params[4].shape, (std::vector<int64_t>{1, 4, 3, 3}));
}

TEST(SpecErrors, UnknownKeysNameTheirPathAndTheAllowedKeys) {
    json doc = tiny_spec_json();
    doc["recurrence"]["chanels"] = 3;
    expect_contains(error_of(doc),
                    {"<test>: recurrence.chanels: unknown key", "\"channels\"", "\"activation\""});
    json top = tiny_spec_json();
    top["extra"] = 1;
    expect_contains(error_of(top), {"extra: unknown key"});
    json grid = tiny_spec_json();
    grid["flow"]["velocities"]["step"] = 2;
    expect_contains(error_of(grid), {"flow.velocities.step: unknown key", "\"range\""});
}

TEST(SpecErrors, MissingFieldsAreNamed) {
    json doc = tiny_spec_json();
    doc["readout"]["decoder"].erase("kernel");
    expect_contains(error_of(doc), {"readout.decoder.kernel: required field is missing"});
    json no_flow = tiny_spec_json();
    no_flow.erase("flow");
    expect_contains(error_of(no_flow), {"flow: required field is missing"});
}

TEST(SpecErrors, WrongTypesQuoteTheValueAndTheAllowedType) {
    json doc = tiny_spec_json();
    doc["recurrence"]["channels"] = "128";
    expect_contains(error_of(doc),
                    {"recurrence.channels", "string \"128\"", "an integer in 1..4096"});
    json frac = tiny_spec_json();
    frac["recurrence"]["channels"] = 3.5;
    expect_contains(error_of(frac), {"recurrence.channels", "3.5", "integer"});
    json obj = tiny_spec_json();
    obj["lifting"] = 3;
    expect_contains(error_of(obj), {"lifting: expected an object"});
    json lr = tiny_spec_json();
    lr["training"] = {{"lr", "fast"}};
    expect_contains(error_of(lr), {"training.lr", "a number in (0, 10]"});
}

TEST(SpecErrors, OutOfRangeValues) {
    json doc = tiny_spec_json();
    doc["flow"]["velocities"]["range"] = -1;
    expect_contains(error_of(doc), {"flow.velocities.range", "value -1 is out of range", "0..2"});
    json big = tiny_spec_json();
    big["flow"]["velocities"]["range"] = 3;  // 2R+1 = 7 > height 6
    expect_contains(error_of(big), {"flow.velocities.range", "0..2"});
    json zero = tiny_spec_json();
    zero["input"]["height"] = 0;
    expect_contains(error_of(zero), {"input.height", "out of range"});
    json lr = tiny_spec_json();
    lr["training"] = {{"lr", 0}};
    expect_contains(error_of(lr), {"training.lr", "out of range"});
}

TEST(SpecErrors, KernelsMustBeOdd) {
    json doc = tiny_spec_json();
    doc["recurrence"]["kernel"] = 4;
    expect_contains(error_of(doc), {"recurrence.kernel", "even", "an odd integer in 1.."});
}

TEST(SpecErrors, ChoicesListTheAllowedValues) {
    json doc = tiny_spec_json();
    doc["recurrence"]["activation"] = "gelu";
    expect_contains(error_of(doc),
                    {"recurrence.activation", "\"gelu\"", "\"relu\", \"tanh\", \"sigmoid\""});
    json pool = tiny_spec_json();
    pool["readout"]["pool"] = "min";
    expect_contains(error_of(pool), {"readout.pool", "\"max\", \"mean\", \"sum\""});
    json group = tiny_spec_json();
    group["flow"]["group"] = "scaling";
    expect_contains(error_of(group),
                    {"flow.group", "\"learned\", \"rotation\", \"translation\""});
    json version = tiny_spec_json();
    version["fernn"] = 3;
    expect_contains(error_of(version), {"fernn: spec version 3 is not supported", "allowed: 1..2"});
    json name = tiny_spec_json();
    name["name"] = "my model";
    expect_contains(error_of(name), {"name", "letters, digits and '_'"});
}

TEST(SpecErrors, VelocityLists) {
    json doc = tiny_spec_json();
    doc["flow"]["velocities"] = json::array();
    expect_contains(error_of(doc), {"flow.velocities", "empty"});
    doc["flow"]["velocities"] = json::parse("[[0,0],[1]]");
    expect_contains(error_of(doc), {"flow.velocities[1]", "a pair [vx, vy]"});
    doc["flow"]["velocities"] = json::parse("[[0,0],[1,\"a\"]]");
    expect_contains(error_of(doc), {"flow.velocities[1][1]"});
    doc["flow"]["velocities"] = json::parse("[[0,0],[7,0]]");  // width 7: 7 ≡ 0
    expect_contains(error_of(doc), {"flow.velocities[1][0]", "out of range"});
    doc["flow"]["velocities"] = json::parse("[[1,0],[-6,0]]");  // -6 ≡ 1 (mod 7)
    expect_contains(error_of(doc), {"flow.velocities[1]", "exactly like flow.velocities[0]"});
    doc["flow"]["velocities"] = "all";
    expect_contains(error_of(doc), {"flow.velocities", "{\"range\": R} or a list"});
}

TEST(SpecErrors, PredictionsMustMatchTheInputChannels) {
    json doc = tiny_spec_json();
    doc["readout"]["channels"] = 2;
    expect_contains(error_of(doc), {"readout.channels", "allowed: 1", "fed back"});
}

TEST(SpecErrors, Version2FormsNeedVersion2) {
    json lifting = tiny_spec_json();
    lifting["lifting"] = spec_from(test::tiny_classifier_json()).lifting.normalized();
    expect_contains(error_of(lifting), {"lifting.layers", "needs \"fernn\": 2", "version 1"});
    json layers = tiny_spec_json();
    layers["recurrence"] =
        json::parse(R"({"layers": [{"channels": 4, "kernel": 3, "activation": "relu"}]})");
    expect_contains(error_of(layers), {"recurrence.layers", "needs \"fernn\": 2"});
    json kind = tiny_spec_json();
    kind["readout"]["kind"] = "frames";
    expect_contains(error_of(kind), {"readout.kind", "needs \"fernn\": 2"});
    json learned = tiny_spec_json();
    learned["flow"] =
        json::parse(R"({"group": "learned", "copies": 4, "kernel": 3, "boundary": "circular"})");
    expect_contains(error_of(learned), {"flow.group", "\"learned\" needs \"fernn\": 2"});
}

TEST(SpecErrors, LayerStacks) {
    json doc = test::tiny_classifier_json();
    doc["lifting"]["layers"][1]["channels"] = 6;
    expect_contains(error_of(doc), {"lifting.layers[1].channels", "value 6", "allowed: 4"});
    json pad = test::tiny_classifier_json();
    pad["lifting"]["layers"][0]["padding"] = "reflect";
    expect_contains(error_of(pad), {"lifting.layers[0].padding", "\"zeros\", \"circular\""});
    json bn = test::tiny_classifier_json();
    bn["lifting"]["layers"][0]["batchnorm"] = 1;
    expect_contains(error_of(bn), {"lifting.layers[0].batchnorm", "true or false"});
    json act = test::tiny_classifier_json();
    act["lifting"]["layers"][0]["activation"] = "gelu";
    expect_contains(error_of(act), {"lifting.layers[0].activation", "\"none\""});
    json empty = test::tiny_classifier_json();
    empty["lifting"]["layers"] = json::array();
    expect_contains(error_of(empty), {"lifting.layers", "a list of 1..16 objects"});
    json no_input = test::tiny_classifier_json();
    no_input["recurrence"]["layers"][1].erase("input");
    expect_contains(error_of(no_input), {"recurrence.layers[1].input: required field is missing"});
    json first_input = test::tiny_classifier_json();
    first_input["recurrence"]["layers"][0]["input"] = no_input["recurrence"]["layers"][0];
    expect_contains(error_of(first_input), {"recurrence.layers[0].input: unknown key"});
}

TEST(SpecErrors, ClassifierReadoutAndSequence) {
    json frames = test::tiny_classifier_json();
    frames["sequence"]["output_frames"] = 3;
    expect_contains(error_of(frames), {"sequence.output_frames: unknown key", "\"input_frames\""});
    json classes = test::tiny_classifier_json();
    classes["readout"]["classes"] = 1;
    expect_contains(error_of(classes), {"readout.classes", "2..100000"});
    json time = test::tiny_classifier_json();
    time["readout"]["time"] = "first";
    expect_contains(error_of(time), {"readout.time", "\"last\", \"mean\""});
    json kind = test::tiny_classifier_json();
    kind["readout"]["kind"] = "boxes";
    expect_contains(error_of(kind), {"readout.kind", "\"classes\", \"frames\""});
    json decoder = test::tiny_classifier_json();
    decoder["readout"]["decoder"] = {{"layers", 1}, {"kernel", 3}};
    expect_contains(error_of(decoder), {"readout.decoder: unknown key"});
}

TEST(SpecErrors, LearnedFlows) {
    json doc = test::tiny_classifier_json();
    doc["flow"] =
        json::parse(R"({"group": "learned", "copies": 0, "kernel": 3, "boundary": "circular"})");
    expect_contains(error_of(doc), {"flow.copies", "1..4096"});
    doc["flow"]["copies"] = 4;
    doc["flow"]["kernel"] = 2;
    expect_contains(error_of(doc), {"flow.kernel", "even"});
    doc["flow"]["kernel"] = 3;
    doc["flow"]["velocities"] = {{"range", 1}};
    expect_contains(error_of(doc), {"flow.velocities: unknown key"});
}

TEST(Spec, RotationFlowsParseAndNormalize) {
    const Spec s = spec_from(test::tiny_rotation_json());
    EXPECT_EQ(s.copies(), 4);
    EXPECT_EQ(s.flow.field_size(), 4);
    EXPECT_TRUE(s.flow.steerable());
    // Two fields of four orientation channels each; the lifting pads with zeros.
    EXPECT_EQ(s.recurrence.layers[0].channels, 8);
    EXPECT_EQ(s.recurrence.layers[0].fields(), 2);
    EXPECT_EQ(s.top_channels(), 8);
    EXPECT_EQ(s.lifting.layers[0].padding, "zeros");
    EXPECT_EQ(s.lifting.layers[0].channels, 8);
    const json n = s.normalized();
    EXPECT_EQ(n["flow"]["orientations"], 4);
    EXPECT_EQ(n["flow"]["velocities"], json::parse("[0, 90, 180, 270]"));
    EXPECT_EQ(n["recurrence"]["layers"][0]["channels"], 2);
    EXPECT_EQ(s.flow.labels()[1], "90deg");
    // A normalized spec parses to itself.
    EXPECT_EQ(spec_from(n).normalized(), n);

    json grid = test::tiny_rotation_json();
    grid["flow"]["orientations"] = 36;
    grid["flow"]["velocities"] = {{"step", 10}, {"range", 4}};
    const Spec g = spec_from(grid);
    EXPECT_EQ(g.copies(), 9);
    EXPECT_EQ(g.flow.velocities.front()[0], -40);
    EXPECT_EQ(g.flow.velocities.back()[0], 40);
    EXPECT_EQ(g.recurrence.layers[0].channels, 72);

    // Training data turn: the reference's angular velocities by default, a list or a grid.
    EXPECT_EQ(s.training.data_angular_velocities,
              (std::vector<int>{-40, -30, -20, -10, 0, 10, 20, 30, 40}));
    EXPECT_EQ(n["training"]["data_angular_velocities"], json(s.training.data_angular_velocities));
    EXPECT_FALSE(n["training"].contains("data_velocity_range"));
    json data = test::tiny_rotation_json();
    data["training"] = {{"data_angular_velocities", {{"step", 15}, {"range", 2}}}};
    EXPECT_EQ(spec_from(data).training.data_angular_velocities,
              (std::vector<int>{-30, -15, 0, 15, 30}));
    data["training"]["data_angular_velocities"] = {7, -3};  // any whole degrees, any order
    EXPECT_EQ(spec_from(data).training.data_angular_velocities, (std::vector<int>{7, -3}));
    // The training settings do not change the model.
    EXPECT_EQ(spec_from(data).model_hash(), s.model_hash());
}

TEST(SpecErrors, RotationFlows) {
    json doc = test::tiny_rotation_json();
    doc["flow"]["orientations"] = 7;
    expect_contains(error_of(doc), {"flow.orientations", "value 7 does not divide 360",
                                    "allowed: a divisor of 360 (1, 2, 3, 4, 5, 6, 8,"});
    doc["flow"]["orientations"] = 4;
    doc["flow"]["velocities"] = {0, 45};
    expect_contains(error_of(doc), {"flow.velocities[1]", "velocity 45 is not a multiple of",
                                    "360/N = 90", "allowed: multiples of 90"});
    doc["flow"]["velocities"] = {90, -270};
    expect_contains(error_of(doc), {"flow.velocities[1]", "exactly like flow.velocities[0]",
                                    "distinct modulo 360"});
    doc["flow"]["velocities"] = {0, 360};
    expect_contains(error_of(doc), {"flow.velocities[1]", "-359..359"});
    doc["flow"]["velocities"] = json::array();
    expect_contains(error_of(doc), {"flow.velocities", "empty"});
    doc["flow"]["velocities"] = {{"step", 30}, {"range", 1}};
    expect_contains(error_of(doc), {"flow.velocities.step", "step 30 is not a multiple"});
    doc["flow"]["velocities"] = {{"step", 90}, {"range", 2}};
    expect_contains(error_of(doc), {"flow.velocities.range", "0..1"});
    doc["flow"]["velocities"] = {0};
    doc["flow"]["boundary"] = "circular";
    expect_contains(error_of(doc), {"flow.boundary", "\"zeros\""});
    doc["flow"]["boundary"] = "zeros";
    doc["flow"]["interpolation"] = "nearest";
    expect_contains(error_of(doc), {"flow.interpolation", "\"bilinear\""});
    doc["flow"]["interpolation"] = "bilinear";
    doc["input"]["width"] = 8;
    expect_contains(error_of(doc), {"flow.group", "square frames", "8x7"});

    // Training data turn for rotation flows and translate for the others.
    json data = test::tiny_rotation_json();
    data["training"] = {{"data_velocity_range", 1}};
    expect_contains(error_of(data), {"training.data_velocity_range", "flow group \"rotation\"",
                                     "allowed: training.data_angular_velocities"});
    data["training"] = {{"data_angular_velocities", {10, 20, 10}}};
    expect_contains(error_of(data), {"training.data_angular_velocities[2]", "listed twice"});
    data["training"] = {{"data_angular_velocities", json::array()}};
    expect_contains(error_of(data), {"training.data_angular_velocities", "empty"});
    data["training"] = {{"data_angular_velocities", {400}}};
    expect_contains(error_of(data), {"training.data_angular_velocities[0]", "-359..359"});
    data["training"] = {{"data_angular_velocities", "-40..40"}};
    expect_contains(error_of(data), {"training.data_angular_velocities",
                                     "{\"step\": s, \"range\": R}"});
    json translating = tiny_spec_json();
    translating["training"] = {{"data_angular_velocities", {0, 10}}};
    expect_contains(error_of(translating), {"training.data_angular_velocities",
                                            "allowed: training.data_velocity_range"});

    // One steerable lifting conv and one recurrent layer; version 2 only.
    json lifting = test::tiny_rotation_json();
    lifting["lifting"] = json::parse(
        R"({"layers": [{"channels": 8, "kernel": 3, "padding": "zeros", "batchnorm": false,
                        "activation": "none"}]})");
    expect_contains(error_of(lifting), {"lifting.layers", "one C_N-steerable convolution",
                                        "{\"kernel\": k}"});
    json layers = test::tiny_rotation_json();
    layers["recurrence"] = json::parse(
        R"({"layers": [{"channels": 2, "kernel": 3, "activation": "relu"},
                       {"channels": 2, "kernel": 3, "activation": "relu",
                        "input": {"kernel": 3, "padding": "zeros", "batchnorm": false,
                                  "activation": "relu"}}]})");
    expect_contains(error_of(layers), {"recurrence.layers", "supports one recurrent layer"});
    // A few hundred bytes must not make the plan sample a basis of billions of values.
    json big = test::tiny_rotation_json();
    big["input"]["height"] = big["input"]["width"] = 15;
    big["flow"]["orientations"] = 36;
    big["flow"]["velocities"] = {0};
    big["recurrence"]["kernel"] = 15;
    expect_contains(error_of(big), {"recurrence.kernel", "kernel 15 with 36 orientations",
                                    "allowed: at most 67108864"});
    big["recurrence"]["kernel"] = 3;
    big["lifting"]["kernel"] = 15;
    big["flow"]["orientations"] = 360;
    expect_contains(error_of(big), {"recurrence.kernel", "kernel 3 with 360 orientations"});
    big["flow"]["orientations"] = 36;
    EXPECT_EQ(error_of(big), "");  // the paper's C_36, kernel 3 (and a 15×15 lifting)
    json v1 = test::tiny_rotation_json();
    v1["fernn"] = 1;
    expect_contains(error_of(v1), {"flow.group", "\"rotation\" needs \"fernn\": 2"});
}

TEST(SpecErrors, JsonSyntaxAndDuplicateKeys) {
    expect_contains(error_of_text("{\n  \"a\": 1,\n  \"b\": }"),
                    {"x.json: not valid JSON at line 3"});
    expect_contains(error_of_text("{\"a\": 1, \"a\": 2}"), {"x.json", "key \"a\" appears twice"});
}

TEST(SpecOverrides, SetReplacesValuesBeforeValidation) {
    const std::string path = std::string(::testing::TempDir()) + "/set_spec.json";
    std::ofstream(path) << tiny_spec_json().dump();
    const Spec s = load_spec(path, {"recurrence.channels=8", "flow.velocities.range=2",
                                    "readout.pool=mean", "flow.velocities=[[0,0],[1,1]]"});
    EXPECT_EQ(s.top_channels(), 8);
    EXPECT_EQ(s.readout.frames.pool, "mean");
    EXPECT_EQ(s.copies(), 2);  // the later --set wins
}

TEST(SpecOverrides, ErrorsNameTheOverride) {
    const std::string path = std::string(::testing::TempDir()) + "/set_spec2.json";
    std::ofstream(path) << tiny_spec_json().dump();
    try {
        load_spec(path, {"recurrence.channels=-3"});
        FAIL() << "no error";
    } catch (const InputError &e) {
        expect_contains(e.what(), {path.c_str(), "(set by --set recurrence.channels=-3)",
                                   "recurrence.channels", "out of range"});
    }
    try {
        load_spec(path, {"recurrence.kernel.size=3"});
        FAIL() << "no error";
    } catch (const InputError &e) {
        expect_contains(e.what(), {"recurrence.kernel is number 3, not an object"});
    }
    try {
        load_spec(path, {"recurrence.channels"});
        FAIL() << "no error";
    } catch (const InputError &e) {
        expect_contains(e.what(), {"expected PATH=VALUE"});
    }
    try {
        load_spec(path, {"recurence.channels=3"});
        FAIL() << "no error";
    } catch (const InputError &e) {
        expect_contains(e.what(), {"recurence: unknown key", "set by --set recurence.channels=3"});
    }
}

TEST(SpecExamples, EveryShippedSpecIsValid) {
    int count = 0;
    for (const char *dir : {"/specs", "/tests/specs"}) {
        for (const auto &entry :
             std::filesystem::directory_iterator(std::string(FERNN_SOURCE_DIR) + dir)) {
            if (entry.path().extension() != ".json") continue;
            SCOPED_TRACE(entry.path().string());
            EXPECT_NO_THROW(load_spec(entry.path().string()));
            ++count;
        }
    }
    EXPECT_GE(count, 4);
}
