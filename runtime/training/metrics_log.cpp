#include "runtime/training/metrics_log.h"

#include <fstream>

#include "runtime/formats/atomic_file.h"

namespace fernn {

std::vector<json> parse_metrics(const std::string &text, const std::string &path) {
    std::vector<json> out;
    size_t at = 0, line = 0;
    while (at < text.size()) {
        const size_t end = text.find('\n', at);
        if (end == std::string::npos) break;  // an append cut short by a kill
        ++line;
        const std::string where = path + " line " + std::to_string(line);
        json record = parse_json_strict(text.substr(at, end - at), where);
        if (!record.is_object() || !record.contains("step"))
            throw InputError(where + ": not a metrics record (an object with \"step\")");
        require_int64(record["step"], 0, INT64_MAX, "step", JsonSource{where, {}});
        out.push_back(std::move(record));
        at = end + 1;
    }
    return out;
}

std::vector<json> read_metrics(const std::string &path) {
    return parse_metrics(read_file_bytes(path, kMaxMetricsBytes), path);
}

void append_metrics(const std::string &path, const json &record) {
    std::ofstream out(path, std::ios::app);
    out << record.dump() << "\n";
    if (!out.flush()) throw InputError(path + ": cannot append");
}

void truncate_metrics(const std::string &path, int64_t step) {
    std::string kept;
    for (const json &record : read_metrics(path)) {
        if (record["step"].get<double>() <= double(step)) kept += record.dump() + "\n";
    }
    write_file_atomically(path, kept);
}

}  // namespace fernn
