// Strict reading of JSON documents written by users (specs, manifests).
//
// Every error names the file, the JSON path of the offending value, the value itself and what
// is allowed, because users fix specs from the message alone. Objects are read through
// ObjectReader, which remembers which keys were consumed so that finish() can reject unknown
// keys (a typo such as "chanels" must not silently fall back to a default).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "runtime/spec/limits.h"

namespace fernn {

using json = nlohmann::json;

// A user-input error. what() is the complete message: "<file>: <path>: <problem>".
class InputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Where a document came from: the file and, for values replaced on the command line, the
// override that set them (so the message can say "set by --set a.b=3").
struct JsonSource {
    std::string file;
    std::map<std::string, std::string> overrides;  // JSON path -> "PATH=VALUE" as typed

    [[noreturn]] void fail(const std::string &path, const std::string &problem) const;
};

// Limits on every JSON document fernn reads (specs, --set values, manifests, run records,
// safetensors headers, metrics lines): nesting depth, and the size of a file read whole.
constexpr int kMaxJsonDepth = 64;
constexpr size_t kMaxJsonFileBytes = size_t(64) << 20;

// Parses JSON text; syntax errors, duplicate keys, numbers out of double's range and nesting
// deeper than kMaxJsonDepth become InputErrors naming `file` (with line:column for syntax).
json parse_json_strict(const std::string &text, const std::string &file);
// Reads and parses a file of at most kMaxJsonFileBytes.
json read_json_file(const std::string &file);

// Short rendering of a JSON value for error messages: a bounded prefix, whatever the value's
// size or depth.
std::string describe(const json &value);
// `text` cut to at most `most` characters ("..." marks the cut).
std::string bounded_text(const std::string &text, size_t most);

class ObjectReader {
  public:
    ObjectReader(const json &node, std::string path, const JsonSource &source);
    const std::string &path() const { return path_; }

    bool has(const std::string &key);         // also declares the key as allowed here
    const json &raw(const std::string &key);  // required key, any type
    std::string path_of(const std::string &key) const;
    const JsonSource &source() const { return source_; }

    int integer(const std::string &key, int lo, int hi);
    int64_t integer64(const std::string &key, Limits<int64_t> range);
    uint64_t unsigned64(const std::string &key);
    std::string string(const std::string &key, size_t most);
    int integer_or(const std::string &key, int lo, int hi, int fallback);
    double number(const std::string &key, double lo, double hi, bool lo_open = false);
    double number(const std::string &key, Limits<double> range);
    double number_or(const std::string &key, double lo, double hi, double fallback,
                     bool lo_open = false);
    bool boolean(const std::string &key);
    std::string choice(const std::string &key, const std::vector<std::string> &allowed);
    // A required non-empty list of at most `most` objects; each is read by the caller.
    std::vector<ObjectReader> objects(const std::string &key, size_t most);
    // A name: 1..most ASCII letters, digits and '_', starting with a letter.
    std::string identifier(const std::string &key, size_t most);
    ObjectReader object(const std::string &key);

    // Rejects keys that were never read.
    void finish() const;

  private:
    const json &node_;
    std::string path_;
    const JsonSource &source_;
    std::vector<std::string> known_;  // keys this object may hold, in the order asked
};

// Checks that `value` is an integer in [lo, hi]; `path` names it in the error.
int64_t require_int64(const json &value, int64_t lo, int64_t hi, const std::string &path,
                      const JsonSource &source);
int require_integer(const json &value, int lo, int hi, const std::string &path,
                    const JsonSource &source);

}  // namespace fernn
