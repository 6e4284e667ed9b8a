#include "runtime/spec/json_reader.h"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <set>
#include <sstream>

#include "runtime/formats/atomic_file.h"
#include "runtime/spec/did_you_mean.h"

namespace fernn {

void JsonSource::fail(const std::string &path, const std::string &problem) const {
    std::string where = file;
    // An override applies to its own path and everything under it.
    for (const auto &[set_path, text] : overrides) {
        // The override's own path, anything under it, or a key it created on the way.
        if (path == set_path || path.rfind(set_path + ".", 0) == 0 ||
            path.rfind(set_path + "[", 0) == 0 || set_path.rfind(path + ".", 0) == 0) {
            where += " (set by --set " + text + ")";
            break;
        }
    }
    throw InputError(where + ": " + (path.empty() ? "(top level)" : path) + ": " + problem);
}

namespace {

// Line and column (1-based) of a byte offset, for syntax errors.
std::string line_col(const std::string &text, size_t byte) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < byte && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

json parse_json_strict(const std::string &text, const std::string &file) {
    // nlohmann keeps the last of duplicate keys silently; a spec with two "channels" is almost
    // certainly a mistake, so the parser callback tracks the keys of each open object. It also
    // refuses nesting beyond kMaxJsonDepth while parsing: nlohmann's parser keeps its own
    // stack, but dump(), comparison and every reader recurse on a document's depth.
    std::vector<std::set<std::string>> open_objects;
    std::string duplicate;
    bool too_deep = false;
    auto callback = [&](int depth, json::parse_event_t event, json &parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (depth >= kMaxJsonDepth) {
                    too_deep = true;
                    throw std::length_error("nesting");
                }
                if (event == json::parse_event_t::object_start) open_objects.emplace_back();
                break;
            case json::parse_event_t::object_end:
                if (!open_objects.empty()) open_objects.pop_back();
                break;
            case json::parse_event_t::key: {
                const std::string &key = parsed.get_ref<const std::string &>();
                if (!open_objects.empty() && !open_objects.back().insert(key).second &&
                    duplicate.empty()) {
                    duplicate = key;
                }
                break;
            }
            default:
                break;
        }
        return true;
    };
    try {
        json doc =
            json::parse(text, callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
        if (!duplicate.empty()) {
            throw InputError(file + ": key \"" + bounded_text(duplicate, 60) +
                             "\" appears twice in one object; each key may appear once");
        }
        return doc;
    } catch (const json::parse_error &e) {
        // The library's message quotes the last token read, which may be a long string.
        throw InputError(file + ": not valid JSON at " + line_col(text, e.byte) + ": " +
                         bounded_text(e.what(), 300));
    } catch (const json::exception &e) {
        // Out-of-range numbers (1e400) and the like.
        throw InputError(file + ": not valid JSON: " + bounded_text(e.what(), 300));
    } catch (const std::length_error &) {
        if (!too_deep) throw;
        throw InputError(file + ": JSON nested more than " + std::to_string(kMaxJsonDepth) +
                         " levels deep; allowed: at most " + std::to_string(kMaxJsonDepth));
    }
}

json read_json_file(const std::string &file) {
    return parse_json_strict(read_file_bytes(file, kMaxJsonFileBytes), file);
}

std::string bounded_text(const std::string &text, size_t most) {
    if (text.size() <= most) return text;
    size_t cut = most > 3 ? most - 3 : 0;
    // Never inside a UTF-8 sequence: continuation bytes are 10xxxxxx.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    return text.substr(0, cut) + "...";
}

namespace {

// A string in JSON syntax; only a prefix is escaped, so a long string costs no more than a
// short one. Invalid UTF-8 (possible only in documents built by code) is replaced.
std::string quoted(const std::string &text, size_t most) {
    return json(bounded_text(text, most)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Appends at most `budget` characters of `value` in JSON syntax. Recursion stops at a fixed
// depth whatever the document, so any value may be described.
void render(const json &value, size_t budget, int depth, std::string &out) {
    if (out.size() >= budget) return;
    switch (value.type()) {
        case json::value_t::array:
        case json::value_t::object: {
            const bool object = value.is_object();
            out += object ? '{' : '[';
            if (depth >= 4 && !value.empty()) {
                out += "...";
            } else {
                bool first = true;
                for (auto it = value.begin(); it != value.end() && out.size() < budget; ++it) {
                    if (!first) out += ", ";
                    first = false;
                    if (object) out += quoted(it.key(), budget) + ": ";
                    render(*it, budget, depth + 1, out);
                }
            }
            out += object ? '}' : ']';
            break;
        }
        case json::value_t::string:
            out += quoted(value.get_ref<const std::string &>(), budget);
            break;
        default:
            out += value.dump();  // scalars are short
            break;
    }
}

}  // namespace

std::string describe(const json &value) {
    constexpr size_t kMost = 60;
    std::string text;
    render(value, kMost + 1, 0, text);
    text = bounded_text(text, kMost);
    const char *kind = "";
    switch (value.type()) {
        case json::value_t::string:
            kind = "string ";
            break;
        case json::value_t::boolean:
            kind = "boolean ";
            break;
        case json::value_t::array:
            kind = "array ";
            break;
        case json::value_t::object:
            kind = "object ";
            break;
        case json::value_t::null:
            kind = "";
            break;
        default:
            kind = "number ";
            break;
    }
    return std::string(kind) + text;
}

ObjectReader::ObjectReader(const json &node, std::string path, const JsonSource &source)
    : node_(node), path_(std::move(path)), source_(source) {
    if (!node_.is_object()) {
        source_.fail(path_, "expected an object {...}, got " + describe(node_));
    }
}

std::string ObjectReader::path_of(const std::string &key) const {
    return path_.empty() ? key : path_ + "." + key;
}

bool ObjectReader::has(const std::string &key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
    return node_.contains(key);
}

const json &ObjectReader::raw(const std::string &key) {
    if (!has(key)) {
        // A misspelt key is the usual cause: name the present key that is closest.
        std::vector<std::string> unknown;
        for (const auto &item : node_.items()) {
            if (std::find(known_.begin(), known_.end(), item.key()) == known_.end())
                unknown.push_back(item.key());
        }
        const std::string typo = closest_name(key, unknown);
        source_.fail(path_of(key), "required field is missing" +
                                       (typo.empty() ? std::string()
                                                     : "; did you mean \"" + key +
                                                           "\" instead of \"" + typo + "\"?"));
    }
    return node_.at(key);
}

int64_t require_int64(const json &value, int64_t lo, int64_t hi, const std::string &path,
                      const JsonSource &source) {
    const std::string allowed =
        "allowed: an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    bool in_range = false;
    int64_t v = 0;
    if (value.is_number_unsigned()) {
        const uint64_t u = value.get<uint64_t>();
        in_range = u <= uint64_t(INT64_MAX);
        v = in_range ? int64_t(u) : 0;
    } else if (value.is_number_integer()) {
        v = value.get<int64_t>();
        in_range = true;
    } else if (value.is_number_float()) {
        // 3.0 is accepted as 3; 3.5 is not an integer.
        const double d = value.get<double>();
        if (!std::isfinite(d) || d != std::floor(d))
            source.fail(path, "got " + describe(value) + "; " + allowed);
        in_range = std::fabs(d) < 9e15;
        v = in_range ? int64_t(d) : 0;
    } else {
        source.fail(path, "got " + describe(value) + "; " + allowed);
    }
    if (!in_range || v < lo || v > hi)
        source.fail(path, "value " + value.dump() + " is out of range; " + allowed);  // a number
    return v;
}

int require_integer(const json &value, int lo, int hi, const std::string &path,
                    const JsonSource &source) {
    return int(require_int64(value, lo, hi, path, source));
}

int64_t ObjectReader::integer64(const std::string &key, Limits<int64_t> range) {
    return require_int64(raw(key), range.lo, range.hi, path_of(key), source_);
}

uint64_t ObjectReader::unsigned64(const std::string &key) {
    const json &value = raw(key);
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
        source_.fail(path_of(key),
                     "got " + describe(value) + "; allowed: an integer in 0..2^64-1");
    }
    return value.get<uint64_t>();
}

double ObjectReader::number(const std::string &key, Limits<double> range) {
    return number(key, range.lo, range.hi, range.lo_open);
}

std::string ObjectReader::string(const std::string &key, size_t most) {
    const json &value = raw(key);
    if (!value.is_string() || value.get_ref<const std::string &>().size() > most) {
        source_.fail(path_of(key), "got " + describe(value) + "; allowed: a string of at most " +
                                       std::to_string(most) + " characters");
    }
    return value.get<std::string>();
}

int ObjectReader::integer(const std::string &key, int lo, int hi) {
    return require_integer(raw(key), lo, hi, path_of(key), source_);
}

int ObjectReader::integer_or(const std::string &key, int lo, int hi, int fallback) {
    return has(key) ? integer(key, lo, hi) : fallback;
}

double ObjectReader::number(const std::string &key, double lo, double hi, bool lo_open) {
    const json &value = raw(key);
    std::ostringstream allowed;
    allowed << "allowed: a number in " << (lo_open ? "(" : "[") << lo << ", " << hi << "]";
    if (!value.is_number())
        source_.fail(path_of(key), "got " + describe(value) + "; " + allowed.str());
    const double d = value.get<double>();
    if (!std::isfinite(d) || d < lo || d > hi || (lo_open && d == lo)) {
        source_.fail(path_of(key),
                     "value " + value.dump() + " is out of range; " + allowed.str());  // a number
    }
    return d;
}

double ObjectReader::number_or(const std::string &key, double lo, double hi, double fallback,
                               bool lo_open) {
    return has(key) ? number(key, lo, hi, lo_open) : fallback;
}

bool ObjectReader::boolean(const std::string &key) {
    const json &value = raw(key);
    if (!value.is_boolean())
        source_.fail(path_of(key), "got " + describe(value) + "; allowed: true or false");
    return value.get<bool>();
}

std::vector<ObjectReader> ObjectReader::objects(const std::string &key, size_t most) {
    const json &value = raw(key);
    const std::string allowed = "allowed: a list of 1.." + std::to_string(most) + " objects";
    if (!value.is_array() || value.empty() || value.size() > most)
        source_.fail(path_of(key), "got " + describe(value) + "; " + allowed);
    std::vector<ObjectReader> out;
    for (size_t i = 0; i < value.size(); ++i)
        out.emplace_back(value[i], path_of(key) + "[" + std::to_string(i) + "]", source_);
    return out;
}

std::string ObjectReader::choice(const std::string &key, const std::vector<std::string> &allowed) {
    const json &value = raw(key);
    std::string list;
    for (const auto &a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
    if (!value.is_string() ||
        std::find(allowed.begin(), allowed.end(), value.get<std::string>()) == allowed.end()) {
        source_.fail(path_of(key), "got " + describe(value) + "; allowed: one of " + list);
    }
    return value.get<std::string>();
}

std::string ObjectReader::identifier(const std::string &key, size_t most) {
    const json &value = raw(key);
    bool ok = value.is_string();
    if (ok) {
        const std::string &s = value.get_ref<const std::string &>();
        ok = !s.empty() && s.size() <= most && std::isalpha(static_cast<unsigned char>(s[0]));
        for (size_t i = 0; ok && i < s.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(s[i]);
            ok = c < 128 && (std::isalnum(c) || c == '_');
        }
    }
    if (!ok) {
        source_.fail(path_of(key), "got " + describe(value) + "; allowed: a name of 1-" +
                                       std::to_string(most) +
                                       " letters, digits and '_', starting with a letter");
    }
    return value.get<std::string>();
}

ObjectReader ObjectReader::object(const std::string &key) {
    return ObjectReader(raw(key), path_of(key), source_);
}

void ObjectReader::finish() const {
    for (const auto &item : node_.items()) {
        if (std::find(known_.begin(), known_.end(), item.key()) == known_.end()) {
            std::string list;
            for (const auto &k : known_) list += (list.empty() ? "\"" : ", \"") + k + "\"";
            const std::string guess = closest_name(item.key(), known_);
            source_.fail(path_of(bounded_text(item.key(), 80)),
                         "unknown key" + (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") +
                             "; allowed keys here: " + (list.empty() ? "none" : list));
        }
    }
}

}  // namespace fernn
