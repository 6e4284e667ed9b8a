// A compiled model's manifest, <name>.manifest.json: the spec, its plan, the library file and
// its hash, and the pipelines the library exports. Read and checked completely before the
// library is loaded, so an edited, damaged or foreign manifest is an InputError naming the
// file, never a crash inside dlopen or a library exception.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/plan/plan.h"
#include "runtime/spec/json_reader.h"
#include "runtime/spec/spec.h"

namespace fernn {

// The pipelines a model library holds and how the runtime calls them. Bump when a pipeline is
// added or removed or an argument changes: libraries compiled for another version are refused
// with a message, and the compile cache is keyed by it.
//   1: cell, readout and loss pipelines; 2: + grad_accumulate and optimizer_step;
//   3: CUDA libraries export halide_reuse_device_allocations; 4: + fill_zero;
//   5: pipelines from the model plan, which the manifest records;
//   6: the manifest records the library's hash, checked before it is loaded.
constexpr int kLibraryVersion = 6;

// lib<name>.so, the library a model directory holds beside <name>.manifest.json.
std::string library_file_name(const std::string &model_name);
// The hash the manifest records of a library file (FNV-1a of its bytes): a truncated or
// damaged library is refused with a message instead of crashing inside dlopen.
std::string library_hash(const std::string &so);
constexpr uint64_t kMaxLibraryBytes = uint64_t(4) << 30;

struct ManifestPipeline {
    std::string name, device, symbol;
    // Argument names, inputs then outputs, in the library's argument order.
    std::vector<std::string> arguments;
};

struct Manifest {
    json doc;
    Spec spec;
    ModelPlan plan;
    bool float64 = false;
    std::string library, library_hash;  // file name beside the manifest, its FNV-1a hash
    std::vector<ManifestPipeline> pipelines;
};

// Checks the version, the spec against model_hash, the plan against the spec, the library
// name and the pipeline list (the library's own hash is checked when it is opened).
Manifest parse_manifest(json doc, const std::string &path);
Manifest read_manifest(const std::string &path);

}  // namespace fernn
