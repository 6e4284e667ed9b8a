// `mpirun -np 2 fernn train|eval`: data-parallel training follows the one-process trajectory
// (same global batch, seed and steps), resumes with another number of ranks, and a rank that
// dies, hangs or disagrees ends the job with a message naming it, its last checkpoint resumable.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/safetensors.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace fernn;

namespace {

using Result = test::CliResult;
using test::fernn_cli;

// fernn under mpirun with `ranks` processes on this machine, one thread each.
Result mpi_fernn(int ranks, const std::string &args, const std::string &env = "") {
    return test::run_command(std::string(FERNN_MPIEXEC) + " --allow-run-as-root --oversubscribe" +
                             " -np " + std::to_string(ranks) +
                             " -x FERNN_CACHE=" + FERNN_TEST_CACHE + env + " " + FERNN_BINARY +
                             " " + args + " --threads 1");
}

class DataParallel : public test::TrainingTest {
  protected:
    DataParallel() : TrainingTest("dp") {}
    void SetUp() override {
        TrainingTest::SetUp();
        train_ = "train " + test::small_fernn_v1() + " --batch 8 --val-sequences 8 --data " +
                 path("data");
    }
    // `command` (ending in "--out ") as 1 process of 2 threads into DIR/one and as 2 ranks into
    // DIR/two; both must succeed. Returns the ranks' output.
    std::string alone_and_on_two_ranks(const std::string &command, const std::string &one,
                                       const std::string &two) {
        const Result a = fernn_cli(command + path(one) + " --threads 2");
        EXPECT_EQ(a.code, 0) << a.output;
        const Result b = mpi_fernn(2, command + path(two));
        EXPECT_EQ(b.code, 0) << b.output;
        return b.output;
    }
    std::string train_;
};

// ||a - b|| / ||b|| over every tensor of two checkpoints, the worst.
double worst_relative_error(const std::string &a, const std::string &b) {
    const TensorFile<float> x = read_safetensors<float>(a), y = read_safetensors<float>(b);
    EXPECT_EQ(x.tensors.size(), y.tensors.size());
    double worst = 0;
    for (const auto &[name, t] : x.tensors) {
        const Array<float> *u = y.find(name);
        if (!u || u->shape != t.shape) {
            ADD_FAILURE() << name << " missing or misshapen in " << b;
            continue;
        }
        double d = 0, n = 0;
        for (size_t i = 0; i < t.data.size(); ++i) {
            d += double(t.data[i] - u->data[i]) * double(t.data[i] - u->data[i]);
            n += double(u->data[i]) * double(u->data[i]);
        }
        worst = std::max(worst, std::sqrt(d / std::max(n, 1e-30)));
    }
    return worst;
}

// metrics.jsonl's value of `key` per line that has it.
std::vector<double> column(const std::string &metrics, const std::string &key) {
    std::vector<double> v;
    std::ifstream in(metrics);
    for (std::string line; std::getline(in, line);) {
        const json j = json::parse(line);
        if (j.contains(key)) v.push_back(j[key].get<double>());
    }
    return v;
}

void expect_same_curve(const std::vector<double> &a, const std::vector<double> &b,
                       const std::string &what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(a[i], b[i], 1e-5 * std::abs(b[i])) << what << " at entry " << i;
}

// The process of rank `rank` whose command line mentions `marker`, once it exists, else 0.
pid_t rank_process(int rank, const std::string &marker) {
    for (const auto &entry : fs::directory_iterator("/proc")) {
        const std::string pid = entry.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream cmdline(entry.path() / "cmdline"), environ(entry.path() / "environ");
        const std::string cmd((std::istreambuf_iterator<char>(cmdline)), {}),
            env((std::istreambuf_iterator<char>(environ)), {});
        if (cmd.find(marker) == std::string::npos || cmd.find("mpirun") == 0) continue;
        if (env.find(std::string("OMPI_COMM_WORLD_RANK=") + std::to_string(rank) + '\0') !=
            std::string::npos)
            return pid_t(std::stol(pid));
    }
    return 0;
}

// Starts a long 2-rank run into `out`, waits until it took `steps` steps, sends `sig` to rank
// 1 and returns the job's result (it must end by itself).
Result signal_rank_one_mid_run(const std::string &train, const std::string &out, int sig,
                               int steps) {
    auto job = std::async(std::launch::async, [&] {
        return mpi_fernn(
            2, train + " --steps 100000 --val-every 10 --collective-timeout 5" + " --out " + out);
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (column(out + "/metrics.jsonl", "loss").size() < size_t(steps)) {
        if (std::chrono::steady_clock::now() > deadline ||
            job.wait_for(std::chrono::milliseconds(20)) == std::future_status::ready) {
            ADD_FAILURE() << "the run did not get to step " << steps;
            return job.get();
        }
    }
    const pid_t victim = rank_process(1, out);
    EXPECT_GT(victim, 0) << "rank 1 of the run into " << out << " not found";
    if (victim > 0) kill(victim, sig);
    if (job.wait_for(std::chrono::seconds(90)) != std::future_status::ready) {
        ADD_FAILURE() << "the job did not end within 90 s of signal " << sig << " to rank 1";
        if (victim > 0) kill(victim, SIGKILL);
    }
    if (sig == SIGSTOP && victim > 0) kill(victim, SIGKILL);
    return job.get();
}

}  // namespace

TEST_F(DataParallel, TwoRanksFollowTheOneProcessTrajectoryAndResumeWithOne) {
    const std::string output =
        alone_and_on_two_ranks(train_ + " --steps 20 --val-every 5 --out ", "one", "two");
    ASSERT_FALSE(HasFailure());
    EXPECT_NE(output.find("batch 8 over 2 ranks of 4"), std::string::npos) << output;
    EXPECT_EQ(json::parse(std::ifstream(path("two/run.json")))["world_size"], 2);
    // Parameters, Adam's moments and the loss and validation curves: the same up to the order
    // of the sums.
    EXPECT_LT(worst_relative_error(path("two/resume.safetensors"), path("one/resume.safetensors")),
              1e-5);
    expect_same_curve(column(path("two/metrics.jsonl"), "loss"),
                      column(path("one/metrics.jsonl"), "loss"), "loss");
    expect_same_curve(column(path("two/metrics.jsonl"), "grad_norm"),
                      column(path("one/metrics.jsonl"), "grad_norm"), "gradient norm");
    expect_same_curve(column(path("two/metrics.jsonl"), "val_mse"),
                      column(path("one/metrics.jsonl"), "val_mse"), "validation MSE");

    // 2 ranks for 10 steps, then 1 for the other 10: the same trajectory.
    Result r = mpi_fernn(2, train_ + " --steps 10 --val-every 5 --out " + path("mixed"));
    ASSERT_EQ(r.code, 0) << r.output;
    r = fernn_cli("train --resume " + path("mixed") + " --steps 20 --threads 2");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_EQ(json::parse(std::ifstream(path("mixed/run.json")))["world_size"], 1);
    EXPECT_LT(
        worst_relative_error(path("mixed/resume.safetensors"), path("one/resume.safetensors")),
        1e-5);
    expect_same_curve(column(path("mixed/metrics.jsonl"), "loss"),
                      column(path("one/metrics.jsonl"), "loss"), "resumed loss");

    // `fernn eval` shares the test sequences among the ranks: the same results.
    const std::string eval = "eval --run " + path("one") +
                             " --sequences 12 --velocity-sequences 3 --length-frames 4 --batch 4"
                             " --no-plots --out ";
    alone_and_on_two_ranks(eval, "eval_one", "eval_two");
    ASSERT_FALSE(HasFailure());
    json a = json::parse(std::ifstream(path("eval_one/results.json"))),
         b = json::parse(std::ifstream(path("eval_two/results.json")));
    EXPECT_EQ(a, b);
    EXPECT_EQ(read_file_bytes(path("eval_one/strip.npy")),
              read_file_bytes(path("eval_two/strip.npy")));
}

TEST_F(DataParallel, ClassifierEvaluationIsSharedExactly) {
    // A BatchNorm classifier on Fashion-MNIST: accuracy, cross-entropy, the confusion matrix
    // and the velocity sweep summed over 2 ranks equal one process's.
    const std::string spec =
        test::write_small_classifier(path("classifier.json"), "dp_classifier", 4, 3);
    Result r = fernn_cli("init " + spec + " --seed 3 --out " + path("init.safetensors"));
    ASSERT_EQ(r.code, 0) << r.output;
    const std::string eval = "eval " + spec + " --checkpoint " + path("init.safetensors") +
                             " --data fashion-mnist --sequences 30 --velocity-max 1 --batch 4"
                             " --no-plots --out ";
    alone_and_on_two_ranks(eval, "one", "two");
    ASSERT_FALSE(HasFailure());
    const json a = json::parse(std::ifstream(path("one/results.json"))),
               b = json::parse(std::ifstream(path("two/results.json")));
    EXPECT_EQ(a["confusion"], b["confusion"]);
    EXPECT_EQ(a["test_sequences"], 30);
    EXPECT_EQ(a["test_accuracy"], b["test_accuracy"]);
    EXPECT_NEAR(a["test_loss"].get<double>(), b["test_loss"].get<double>(),
                1e-12 * a["test_loss"].get<double>());
    EXPECT_EQ(a["velocity_accuracy"]["accuracy"], b["velocity_accuracy"]["accuracy"]);
    EXPECT_EQ(read_file_bytes(path("one/confusion.csv")),
              read_file_bytes(path("two/confusion.csv")));
}

TEST_F(DataParallel, BatchNormRunningMeansAreAveragedOverTheRanks) {
    // Each rank normalizes over its own sequences, but the running means move by the mean of
    // the ranks' batch means, which is the global batch's: after one step they equal one
    // process's (the running variances do not: each rank's is unbiased over its share).
    const std::string spec =
        test::write_small_classifier(path("classifier.json"), "dp_classifier", 4, 3);
    const std::string train =
        "train " + spec + " --data fashion-mnist --batch 8 --val-sequences 8 --steps 1 --out ";
    const std::string output = alone_and_on_two_ranks(train, "one", "two");
    ASSERT_FALSE(HasFailure());
    EXPECT_NE(output.find("BatchNorm normalizes over each rank's 4 sequences"), std::string::npos)
        << output;
    const TensorFile<float> one = read_safetensors<float>(path("one/last.safetensors")),
                            two = read_safetensors<float>(path("two/last.safetensors"));
    int means = 0;
    for (const auto &[name, t] : one.tensors) {
        if (name.find("running_mean") == std::string::npos) continue;
        ++means;
        const Array<float> *u = two.find(name);
        ASSERT_TRUE(u) << name;
        for (size_t i = 0; i < t.data.size(); ++i)
            EXPECT_NEAR(u->data[i], t.data[i], 1e-6 * std::abs(t.data[i]) + 1e-9) << name << i;
    }
    EXPECT_GT(means, 0) << "no running means in the checkpoint";
}

TEST_F(DataParallel, OnlyRankZeroNeedsToSeeTheRun) {
    // A relative --out seen from two working directories, as on machines that do not share
    // the run's file system: rank 1 works in an empty directory, reads and writes nothing there.
    fs::create_directories(path("zero"));
    fs::create_directories(path("one"));
    const std::string fernn = std::string(FERNN_BINARY) + " " + train_ + " --threads 1";
    auto ranks = [&](const std::string &args) {
        return test::run_command(std::string(FERNN_MPIEXEC) + " --allow-run-as-root" +
                                 " -x FERNN_CACHE=" + FERNN_TEST_CACHE + " -np 1 -wdir " +
                                 path("zero") + " " + fernn + args + " : -np 1 -wdir " +
                                 path("one") + " " + fernn + args);
    };
    Result r = ranks(" --steps 10 --val-every 5 --out run");
    ASSERT_EQ(r.code, 0) << r.output;
    r = ranks(" --steps 20 --resume run");
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(fs::is_empty(path("one"))) << "rank 1 wrote into its working directory";
    EXPECT_EQ(
        std::stoll(
            read_safetensors<float>(path("zero/run/last.safetensors")).metadata.at("fernn.step")),
        20);
}

TEST_F(DataParallel, ABatchTheRanksCannotShareIsRefused) {
    const Result r = mpi_fernn(3, train_ + " --steps 2 --out " + path("r"));
    EXPECT_EQ(r.code, 2) << r.output;
    EXPECT_NE(r.output.find("--batch: the global batch 8 cannot be shared equally by 3 ranks; "
                            "allowed: a batch that is a multiple of 3, or a number of ranks "
                            "(mpirun -np) dividing 8 (1, 2, 4, 8)"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(path("r"))) << "a refused run left its directory behind";
}

TEST_F(DataParallel, AKilledRankEndsTheJobAndTheRunResumes) {
    const Result r = signal_rank_one_mid_run(train_, path("r"), SIGKILL, 25);
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("rank 1"), std::string::npos) << r.output;
    // The last checkpoint is whole: the run continues from it with one process.
    const int64_t saved =
        std::stoll(read_safetensors<float>(path("r/resume.safetensors")).metadata.at("fernn.step"));
    EXPECT_GE(saved, 20);
    const Result resumed = fernn_cli("train --resume " + path("r") + " --steps " +
                                     std::to_string(saved + 5) + " --threads 2");
    EXPECT_EQ(resumed.code, 0) << resumed.output;
}

TEST_F(DataParallel, AHungRankIsNamedWithinTheTimeout) {
    const auto start = std::chrono::steady_clock::now();
    const Result r = signal_rank_one_mid_run(train_, path("r"), SIGSTOP, 25);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(100));
    EXPECT_NE(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("rank 0 of 2: failed: step "), std::string::npos) << r.output;
    EXPECT_NE(
        r.output.find("waited 5 s for the other ranks; rank 1 did not arrive or stopped answering"),
        std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("continue with fernn train --resume " + path("r")), std::string::npos)
        << r.output;
    const Result resumed = fernn_cli("train --resume " + path("r") + " --steps 40 --threads 2");
    EXPECT_EQ(resumed.code, 0) << resumed.output;
}

TEST_F(DataParallel, RanksWhoseParametersDisagreeStopBeforeSaving) {
    const Result r = mpi_fernn(2, train_ + " --steps 20 --val-every 5 --out " + path("r"),
                               " -x FERNN_TEST_PERTURB_RANK=1");
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("step 5: the parameters of rank 1 differ from rank 0's"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(fs::exists(path("r/resume.safetensors"))) << "a checkpoint was written";
}
