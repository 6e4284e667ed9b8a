#include "runtime/spec/json_reader.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

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
    // certainly a mistake, so the parser callback tracks the keys of each open object.
    std::vector<std::set<std::string>> open_objects;
    std::vector<std::string> key_path;
    std::string duplicate;
    auto callback = [&](int /*depth*/, json::parse_event_t event, json &parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
                open_objects.emplace_back();
                break;
            case json::parse_event_t::object_end:
                if (!open_objects.empty()) open_objects.pop_back();
                break;
            case json::parse_event_t::key: {
                const std::string key = parsed.get<std::string>();
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
            throw InputError(file + ": key \"" + duplicate +
                             "\" appears twice in one object; each key may appear once");
        }
        return doc;
    } catch (const json::parse_error &e) {
        throw InputError(file + ": not valid JSON at " + line_col(text, e.byte) + ": " + e.what());
    }
}

json read_json_file(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw InputError(file + ": cannot open file for reading");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_json_strict(buffer.str(), file);
}

std::string describe(const json &value) {
    std::string text = value.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
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
    if (!has(key)) source_.fail(path_of(key), "required field is missing");
    return node_.at(key);
}

int require_integer(const json &value, int lo, int hi, const std::string &path,
                    const JsonSource &source) {
    const std::string allowed =
        "allowed: an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    bool integral = value.is_number_integer();
    if (value.is_number_float()) {
        // 3.0 is accepted as 3; 3.5 is not an integer.
        const double d = value.get<double>();
        integral = std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 2e9;
    }
    if (!integral) source.fail(path, "got " + describe(value) + "; " + allowed);
    const double d = value.get<double>();
    if (d < lo || d > hi)
        source.fail(path, "value " + value.dump() + " is out of range; " + allowed);
    return static_cast<int>(d);
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
        source_.fail(path_of(key), "value " + value.dump() + " is out of range; " + allowed.str());
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

std::string ObjectReader::string_matching(const std::string &key, const std::string &regex,
                                          const std::string &allowed_text) {
    const json &value = raw(key);
    if (!value.is_string() || !std::regex_match(value.get<std::string>(), std::regex(regex))) {
        source_.fail(path_of(key), "got " + describe(value) + "; allowed: " + allowed_text);
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
            source_.fail(path_of(item.key()),
                         "unknown key; allowed keys here: " + (list.empty() ? "none" : list));
        }
    }
}

}  // namespace fernn
