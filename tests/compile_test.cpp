// The compiler as a library: several models compiled by one process keep their pipeline
// signatures (Halide renames Funcs process-wide), and a failed compile leaves the output
// directory as it was.
#include <gtest/gtest.h>

#include <filesystem>

#include "runtime/model/checkpoint.h"
#include "runtime/model/sequence_model.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

// A fresh path inside a directory of the running test's own (tests run in parallel).
std::string temp(const std::string &name) {
    const fs::path dir = test::test_dir("compile");
    fs::create_directories(dir);
    fs::remove_all(dir / name);
    return (dir / name).string();
}

CompileResult compile_to(const Spec &spec, const std::string &dir,
                         const std::string &target = "host") {
    CompileOptions options;
    options.out_dir = dir;
    options.target = target;
    return compile_model(spec, options);
}

}  // namespace

TEST(Compile, SeveralModelsInOneProcessKeepTheirSignatures) {
    json a = test::tiny_spec_json(), b = test::tiny_spec_json();
    a["name"] = "first";
    b["name"] = "second";
    b["flow"]["velocities"]["range"] = 0;
    const std::string da = temp("a"), db = temp("b"), da2 = temp("a2");
    compile_to(test::spec_from(a), da);
    compile_to(test::spec_from(b), db);
    compile_to(test::spec_from(a), da2);  // the same model again
    for (const std::string &dir : {da, db, da2}) {
        SCOPED_TRACE(dir);
        auto lib = ModelLibrary::open(dir);
        EXPECT_EQ(lib->manifest()["pipelines"][0]["outputs"][0], "out");
        SequenceModel<float> model(lib);
        const auto weights = init_weights<float>(model.plan(), 1);
        SequenceModel<float>::Trace trace;
        SequenceModel<float>::Options o;
        o.t_out = 2;
        model.forward(weights, test::random_array<float>({2, 3, 1, 6, 7}, 1), o, trace);
        EXPECT_EQ(model.predictions(trace).shape, (std::vector<int64_t>{2, 2, 1, 6, 7}));
    }
    // The same spec compiled twice has the same pipeline signatures.
    json pa = ModelLibrary::open(da)->manifest()["pipelines"],
         pa2 = ModelLibrary::open(da2)->manifest()["pipelines"];
    for (json *p : {&pa, &pa2}) {
        for (json &entry : *p) entry.erase("compile_seconds");
    }
    EXPECT_EQ(pa, pa2);
}

TEST(Compile, FailedCompileLeavesTheOutputDirectoryAlone) {
    const std::string dir = temp("keep");
    const Spec spec = test::spec_from(test::tiny_spec_json());
    compile_to(spec, dir);
    const auto before = fs::last_write_time(fs::path(dir) / "libt.so");
    EXPECT_THROW(compile_to(spec, dir, "not-a-target"), InputError);
    EXPECT_EQ(fs::last_write_time(fs::path(dir) / "libt.so"), before);
    int entries = 0;
    for (const auto &e : fs::directory_iterator(fs::path(dir).parent_path())) {
        EXPECT_EQ(e.path().string().find("staging"), std::string::npos) << e.path();
        ++entries;
    }
    EXPECT_GT(entries, 0);
}
