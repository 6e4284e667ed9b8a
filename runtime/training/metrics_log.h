// metrics.jsonl: one JSON object per line, each with the integer "step" it was measured at
// (training loss lines and validation lines). Written by the trainer, read back when a run
// resumes (to drop what came after its checkpoint) and by `fernn plot`.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec/json_reader.h"

namespace fernn {

// Longest metrics file read (a line is ~150 bytes: millions of steps).
constexpr size_t kMaxMetricsBytes = size_t(1) << 30;

// The records of a metrics file's text, in order. A last line without its newline is what a
// kill during an append leaves: it is dropped. Any other line that is not an object with an
// integer "step" >= 0 is an InputError naming `path` and the line.
std::vector<json> parse_metrics(const std::string &text, const std::string &path);
std::vector<json> read_metrics(const std::string &path);

// Appends one record (one line).
void append_metrics(const std::string &path, const json &record);

// Keeps the records of steps <= step, atomically (a resumed run rewrites what came after its
// checkpoint).
void truncate_metrics(const std::string &path, int64_t step);

}  // namespace fernn
