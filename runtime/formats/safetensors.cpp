#include "runtime/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/checked_size.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

template <typename T>
const Array<T> *TensorFile<T>::find(const std::string &name) const {
    for (const auto &entry : tensors) {
        if (entry.first == name) return &entry.second;
    }
    return nullptr;
}

template <typename T>
const Array<int64_t> *TensorFile<T>::find_integer(const std::string &name) const {
    for (const auto &entry : integers) {
        if (entry.first == name) return &entry.second;
    }
    return nullptr;
}

template <typename T>
TensorFile<T> read_safetensors(const std::string &path) {
    return parse_safetensors<T>(read_file_bytes(path), path);
}

template <typename T>
TensorFile<T> parse_safetensors(const std::string &bytes, const std::string &path) {
    auto bad = [&](const std::string &what) {
        return InputError(path + ": not a valid safetensors file: " + what);
    };
    if (bytes.size() < 8) throw bad("shorter than the 8-byte header length");
    uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
    if (n > bytes.size() - 8) throw bad("header length " + std::to_string(n) + " exceeds the file");
    if (n > kMaxSafetensorsHeader) {
        throw bad("header length " + std::to_string(n) + "; allowed: at most " +
                  std::to_string(kMaxSafetensorsHeader));
    }
    json header;
    try {
        header = parse_json_strict(bytes.substr(8, n), path + " (header)");
    } catch (const InputError &e) {
        throw bad(e.what());
    }
    if (!header.is_object()) throw bad("header is not a JSON object");
    const size_t data_at = 8 + n;
    const size_t data_size = bytes.size() - data_at;

    TensorFile<T> out;
    struct Span {
        size_t begin, end;
        std::string name;
    };
    std::vector<Span> spans;
    for (const auto &item : header.items()) {
        const std::string &name = item.key();
        const std::string shown = bounded_text(name, 80);  // names in messages
        const json &info = item.value();
        if (name == "__metadata__") {
            if (!info.is_object()) throw bad("__metadata__ is not an object");
            for (const auto &m : info.items()) {
                if (!m.value().is_string())
                    throw bad("__metadata__." + bounded_text(m.key(), 80) + " is not a string");
                out.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
            !info.contains("data_offsets")) {
            throw bad("entry \"" + shown + "\" lacks dtype, shape or data_offsets");
        }
        const json &dtype = info["dtype"];
        size_t item_size = 0;
        const bool integer = dtype == "I64";
        if (dtype == "F32")
            item_size = 4;
        else if (dtype == "F64" || integer)
            item_size = 8;
        else
            throw InputError(path + ": tensor \"" + shown + "\" has dtype " +
                             (dtype.is_string() ? "\"" + bounded_text(dtype.get<std::string>(), 40) + "\""
                                                : describe(dtype)) +
                             "; allowed: \"F32\", \"F64\" or \"I64\"");
        std::vector<int64_t> shape;
        if (!info["shape"].is_array() || info["shape"].size() > kMaxArrayDims) {
            throw bad("shape of \"" + shown + "\" is not a list of at most " +
                      std::to_string(kMaxArrayDims) + " dimensions");
        }
        for (const auto &d : info["shape"]) {
            // Each dimension fits the file anyway; 2^53 keeps them exact as JSON numbers.
            if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 53))
                throw bad("shape of \"" + shown + "\" holds " + describe(d));
            shape.push_back(d.get<int64_t>());
        }
        const json &off = info["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
            !off[1].is_number_unsigned()) {
            throw bad("data_offsets of \"" + shown + "\" is not [begin, end]");
        }
        const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
        if (end < begin || end > data_size)
            throw bad("data_offsets of \"" + shown + "\" lie outside the data");
        // The shape's byte count, checked against the span before anything is allocated.
        const auto bytes_needed = shape_bytes(shape, item_size);
        if (!bytes_needed || *bytes_needed != end - begin) {
            throw bad("\"" + shown + "\" has " + std::to_string(end - begin) + " bytes but shape " +
                      shape_text(shape) + " needs " +
                      (bytes_needed ? std::to_string(*bytes_needed) : std::string("more than 2^64")));
        }
        spans.push_back({begin, end, name});
        if (integer) {
            Array<int64_t> array(shape);
            std::memcpy(array.data.data(), bytes.data() + data_at + begin, end - begin);
            out.integers.emplace_back(name, std::move(array));
        } else {
            Array<T> array(shape);
            decode_floats(bytes.data() + data_at + begin, item_size, array.data);
            out.tensors.emplace_back(name, std::move(array));
        }
    }
    // The format requires the tensors to tile the data section exactly.
    std::vector<size_t> order(spans.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return spans[a].begin < spans[b].begin; });
    size_t at = 0;
    for (size_t i : order) {
        if (spans[i].begin != at)
            throw bad("tensor \"" + bounded_text(spans[i].name, 80) +
                      "\" overlaps another or leaves a hole");
        at = spans[i].end;
    }
    if (at != data_size)
        throw bad("data section has " + std::to_string(data_size - at) + " unclaimed bytes");
    // Each list in file order.
    std::map<std::string, size_t> begin_of;
    for (const Span &s : spans) begin_of[s.name] = s.begin;
    auto by_offset = [&](auto &list) {
        std::vector<size_t> at_of;
        for (const auto &e : list) at_of.push_back(begin_of.at(e.first));
        std::vector<size_t> idx(list.size());
        for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
        std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return at_of[a] < at_of[b]; });
        std::remove_reference_t<decltype(list)> sorted;
        for (size_t i : idx) sorted.push_back(std::move(list[i]));
        list = std::move(sorted);
    };
    by_offset(out.tensors);
    by_offset(out.integers);
    return out;
}

template <typename T>
void write_safetensors(const std::string &path, const TensorFile<T> &file,
                       const std::string &dtype) {
    if (dtype != "F32" && dtype != "F64")
        throw std::invalid_argument("write_safetensors: dtype " + dtype);
    const size_t item = dtype == "F32" ? 4 : 8;
    json header = json::object();
    std::string data;
    for (const auto &[name, array] : file.tensors) {
        const size_t begin = data.size();
        for (const T v : array.data) {
            if (item == 4) {
                const float f = static_cast<float>(v);
                data.append(reinterpret_cast<const char *>(&f), 4);
            } else {
                const double d = static_cast<double>(v);
                data.append(reinterpret_cast<const char *>(&d), 8);
            }
        }
        header[name] = {
            {"dtype", dtype}, {"shape", array.shape}, {"data_offsets", {begin, data.size()}}};
    }
    for (const auto &[name, array] : file.integers) {
        const size_t begin = data.size();
        for (const int64_t v : array.data) data.append(reinterpret_cast<const char *>(&v), 8);
        header[name] = {
            {"dtype", "I64"}, {"shape", array.shape}, {"data_offsets", {begin, data.size()}}};
    }
    if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xff);
    write_file_atomically(path, bytes + text + data);
}

template struct TensorFile<float>;
template struct TensorFile<double>;
template TensorFile<float> parse_safetensors<float>(const std::string &, const std::string &);
template TensorFile<double> parse_safetensors<double>(const std::string &, const std::string &);
template TensorFile<float> read_safetensors<float>(const std::string &);
template TensorFile<double> read_safetensors<double>(const std::string &);
template void write_safetensors<float>(const std::string &, const TensorFile<float> &,
                                       const std::string &);
template void write_safetensors<double>(const std::string &, const TensorFile<double> &,
                                        const std::string &);

}  // namespace fernn
