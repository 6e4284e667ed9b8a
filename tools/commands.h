// The fernn subcommands, separate from argument parsing (fernn_main.cpp). Each returns the
// process exit code; InputError (bad user input) maps to exit code 2 in main.
#pragma once

#include <string>
#include <vector>

namespace fernn::cli {

struct SpecArgs {
    std::string spec;
    std::vector<std::string> sets;
};

struct ModelArgs : SpecArgs {
    std::string model_dir;  // empty: compile into the cache on first use
    std::string target = "host";
    std::string precision = "float32";
    int threads = 0;
};

int check(const SpecArgs &a, bool as_json);
int compile(const SpecArgs &a, const std::string &out_dir, const std::string &target,
            const std::string &precision);
int init(const SpecArgs &a, unsigned long long seed, const std::string &out);
int predict(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
            const std::string &output, int frames);
int encode(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
           const std::string &output);
int gradients(const ModelArgs &a, const std::string &checkpoint, const std::string &input,
              const std::string &target, const std::string &out);

}  // namespace fernn::cli
