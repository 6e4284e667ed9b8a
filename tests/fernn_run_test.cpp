// fernn-run, the command line without the compiler: it needs neither Halide nor LLVM, runs a
// model compiled by fernn exactly as fernn does, and where it would have to compile it says
// what to do instead, with exit code 2.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/formats/npy.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

test::CliResult run(const std::string &command) {
    return test::run_command(command);
}

std::string temp(const std::string &name) {
    const fs::path d = fs::path(::testing::TempDir()) / "fernn_run_test";
    fs::create_directories(d);
    return (d / name).string();
}

TEST(FernnRun, NeedsNeitherHalideNorLlvm) {
    const auto r = run("ldd " FERNN_RUN_BINARY);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(r.output.find("Halide"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("LLVM"), std::string::npos) << r.output;
}

TEST(FernnRun, RunsACompiledModelLikeFernn) {
    const std::string spec = temp("spec.json"), model = temp("model"), ckpt = temp("p.safetensors");
    std::ofstream(spec) << test::tiny_spec_json().dump(2);
    fs::remove_all(model);
    ASSERT_EQ(test::fernn_cli("compile " + spec + " --out " + model).code, 0);
    ASSERT_EQ(run(FERNN_RUN_BINARY " init " + spec + " --seed 5 --out " + ckpt).code, 0);
    write_npy(temp("x.npy"), test::random_array<float>({2, 3, 1, 6, 7}, 9));
    const std::string args = " " + spec + " --model " + model + " --checkpoint " + ckpt +
                             " --input " + temp("x.npy") + " --output ";
    auto a = run(FERNN_RUN_BINARY " predict" + args + temp("a.npy"));
    ASSERT_EQ(a.code, 0) << a.output;
    auto b = test::fernn_cli("predict" + args + temp("b.npy"));
    ASSERT_EQ(b.code, 0) << b.output;
    EXPECT_EQ(read_npy<float>(temp("a.npy")).data, read_npy<float>(temp("b.npy")).data);
    // Timing works too, without the peak (measuring it needs the JIT).
    auto bench = run(FERNN_RUN_BINARY " bench " + spec + " --model " + model +
                     " --batch 2 --repeats 1 --json");
    ASSERT_EQ(bench.code, 0) << bench.output;
    const json j = json::parse(bench.output.substr(bench.output.rfind("\n{") + 1));
    EXPECT_GT(j["train_step_ms"].get<double>(), 0);
    EXPECT_TRUE(j["peak_fraction"].is_null());
}

TEST(FernnRun, WhereItWouldCompileItSaysWhatToDoInstead) {
    const std::string spec = temp("spec2.json");
    std::ofstream(spec) << test::tiny_spec_json().dump(2);
    for (const std::string &cmd : {"compile " + spec + " --out " + temp("never"), "tune " + spec,
                                   "predict " + spec + " --checkpoint " + spec + " --input " +
                                       spec + " --output " + temp("never.npy")}) {
        const auto r = run(FERNN_RUN_BINARY " " + cmd);
        EXPECT_EQ(r.code, 2) << cmd << "\n" << r.output;
        EXPECT_NE(r.output.find("fernn-run does not have"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("--model DIR"), std::string::npos) << r.output;
    }
    EXPECT_FALSE(fs::exists(temp("never")));
    EXPECT_FALSE(fs::exists(temp("never.npy")));
}

}  // namespace
