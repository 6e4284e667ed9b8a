#include "runtime/formats/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <regex>

#include "runtime/formats/atomic_file.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

struct Header {
    std::string descr;
    bool fortran = false;
    std::vector<int64_t> shape;
};

// The header is a Python dict literal; numpy always writes the three keys below.
Header parse_header(const std::string &text, const std::string &path) {
    auto bad = [&](const std::string &what) -> InputError {
        return InputError(path + ": malformed .npy header (" + what + "): " + text);
    };
    Header h;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(R"('descr'\s*:\s*'([^']*)')")))
        throw bad("no 'descr'");
    h.descr = m[1];
    if (!std::regex_search(text, m, std::regex(R"('fortran_order'\s*:\s*(True|False))"))) {
        throw bad("no 'fortran_order'");
    }
    h.fortran = m[1] == "True";
    if (!std::regex_search(text, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))")))
        throw bad("no 'shape'");
    const std::string dims = m[1];
    std::regex dim(R"(\s*(\d+)\s*(,|$))");
    size_t consumed = 0;
    for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim);
         it != std::sregex_iterator(); ++it) {
        if (static_cast<size_t>(it->position()) != consumed) throw bad("bad shape");
        if ((*it)[1].length() > 15) throw bad("a dimension has more than 15 digits");
        h.shape.push_back(std::stoll((*it)[1]));
        consumed = it->position() + it->length();
    }
    if (dims.find_first_not_of(" \t") != std::string::npos && consumed != dims.size())
        throw bad("bad shape");
    return h;
}

template <typename T>
constexpr const char *descr_of() {
    return sizeof(T) == 4 ? "<f4" : "<f8";
}

// The header and where the payload starts; checks that the payload has exactly the bytes the
// shape needs (before anything is allocated for it).
struct Layout {
    Header header;
    size_t data_at = 0;
};

Layout read_layout(const std::string &bytes, const std::string &path, size_t item);

}  // namespace

template <typename T>
Array<T> read_npy(const std::string &path) {
    const std::string bytes = read_file_bytes(path);
    const std::string allowed = "'<f4' (float32) or '<f8' (float64)";
    std::string descr;
    descr = read_layout(bytes, path, 0).header.descr;  // the dtype gives the element size
    size_t item = 0;
    if (descr == "<f4" || descr == "=f4") {
        item = 4;
    } else if (descr == "<f8" || descr == "=f8") {
        item = 8;
    } else {
        throw InputError(path + ": dtype '" + descr + "' is not supported; allowed: " + allowed);
    }
    const Layout l = read_layout(bytes, path, item);
    Array<T> out(l.header.shape);
    decode_floats(bytes.data() + l.data_at, item, out.data);
    return out;
}

NpyHeader read_npy_header(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open");
    in.seekg(0, std::ios::end);
    const uint64_t file_size = uint64_t(in.tellg());
    in.seekg(0);
    std::string head(size_t(std::min<uint64_t>(file_size, 1 << 16)), '\0');
    in.read(head.data(), std::streamsize(head.size()));
    const Layout l = read_layout(head, path, 0);
    const std::string &d = l.header.descr;
    size_t item = 0;
    if (d == "|u1" || d == "<u1" || d == "u1") item = 1;
    if (d == "<f4" || d == "=f4" || d == "<i4" || d == "=i4") item = 4;
    if (d == "<f8" || d == "=f8" || d == "<i8" || d == "=i8") item = 8;
    if (item == 0) {
        throw InputError(path + ": dtype '" + d +
                         "' is not supported; allowed: '|u1' (uint8), '<f4', '<f8', '<i4', '<i8'");
    }
    uint64_t need = item;
    bool overflow = false;
    for (int64_t dim : l.header.shape)
        overflow |= __builtin_mul_overflow(need, uint64_t(dim), &need);
    if (overflow || file_size - l.data_at != need) {
        throw InputError(path + ": payload has " + std::to_string(file_size - l.data_at) +
                         " bytes but shape " + shape_text(l.header.shape) + " needs " +
                         (overflow ? std::string("more") : std::to_string(need)));
    }
    return NpyHeader{d, l.header.shape, l.data_at};
}

std::vector<int64_t> read_npy_integers(const std::string &path) {
    const std::string bytes = read_file_bytes(path);
    const std::string allowed = "'<i8' (int64) or '<i4' (int32)";
    std::string descr = read_layout(bytes, path, 0).header.descr;
    size_t item = 0;
    if (descr == "<i8" || descr == "=i8") {
        item = 8;
    } else if (descr == "<i4" || descr == "=i4") {
        item = 4;
    } else {
        throw InputError(path + ": dtype '" + descr + "' is not supported; allowed: " + allowed);
    }
    const Layout l = read_layout(bytes, path, item);
    if (l.header.shape.size() != 1) {
        throw InputError(path + ": has shape " + shape_text(l.header.shape) +
                         "; allowed: a vector (N,)");
    }
    std::vector<int64_t> out(size_t(l.header.shape[0]));
    for (size_t i = 0; i < out.size(); ++i) {
        if (item == 8) {
            std::memcpy(&out[i], bytes.data() + l.data_at + 8 * i, 8);
        } else {
            int32_t v;
            std::memcpy(&v, bytes.data() + l.data_at + 4 * i, 4);
            out[i] = v;
        }
    }
    return out;
}

namespace {

Layout read_layout(const std::string &bytes, const std::string &path, size_t item) {
    if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
        throw InputError(path + ": not a .npy file (the magic string \\x93NUMPY is missing)");
    }
    const int major = static_cast<unsigned char>(bytes[6]);
    size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len =
            static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw InputError(path + ": truncated .npy header");
        header_len = 0;
        for (int i = 0; i < 4; ++i)
            header_len |= size_t(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
        offset = 12;
    } else {
        throw InputError(path + ": .npy format version " + std::to_string(major) +
                         " is not supported; allowed: 1, 2, 3");
    }
    if (offset + header_len > bytes.size()) throw InputError(path + ": truncated .npy header");
    Layout l;
    l.header = parse_header(bytes.substr(offset, header_len), path);
    if (l.header.fortran) {
        throw InputError(path +
                         ": array is in Fortran order; allowed: C order "
                         "(save np.ascontiguousarray(x))");
    }
    l.data_at = offset + header_len;
    if (item == 0) return l;  // the dtype is checked by the caller first
    const size_t have = bytes.size() - l.data_at;
    size_t need = item;
    bool overflow = false;
    for (int64_t d : l.header.shape) overflow |= __builtin_mul_overflow(need, size_t(d), &need);
    if (overflow || have != need) {
        throw InputError(path + ": payload has " + std::to_string(have) + " bytes but shape " +
                         shape_text(l.header.shape) + " needs " +
                         (overflow ? std::string("more") : std::to_string(need)));
    }
    return l;
}

}  // namespace

namespace {

// The bytes of a .npy file: header for descr and shape, then the payload.
std::string encode_npy_bytes(const std::string &descr, const std::vector<int64_t> &shape,
                             const char *payload, size_t bytes_count) {
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
        (shape.size() == 1 ? "(" + std::to_string(shape[0]) + ",)" : shape_text(shape)) + ", }";
    // Total header (magic + version + length + dict + '\n') is padded to a multiple of 64.
    const size_t unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict.push_back('\n');
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes.push_back(static_cast<char>(dict.size() & 0xff));
    bytes.push_back(static_cast<char>(dict.size() >> 8));
    bytes += dict;
    bytes.append(payload, bytes_count);
    return bytes;
}

}  // namespace

template <typename T>
std::string encode_npy(const Array<T> &array) {
    return encode_npy_bytes(descr_of<T>(), array.shape,
                            reinterpret_cast<const char *>(array.data.data()),
                            array.data.size() * sizeof(T));
}

void write_npy_bytes(const std::string &path, const std::vector<int64_t> &shape,
                     const std::vector<uint8_t> &values) {
    write_file_atomically(
        path, encode_npy_bytes("|u1", shape, reinterpret_cast<const char *>(values.data()),
                               values.size()));
}

void write_npy_integers(const std::string &path, const std::vector<int64_t> &values) {
    write_file_atomically(
        path, encode_npy_bytes("<i8", {int64_t(values.size())},
                               reinterpret_cast<const char *>(values.data()), values.size() * 8));
}

template <typename T>
void write_npy(const std::string &path, const Array<T> &array) {
    write_file_atomically(path, encode_npy(array));
}

template Array<float> read_npy<float>(const std::string &);
template Array<double> read_npy<double>(const std::string &);
template void write_npy<float>(const std::string &, const Array<float> &);
template void write_npy<double>(const std::string &, const Array<double> &);
template std::string encode_npy<float>(const Array<float> &);
template std::string encode_npy<double>(const Array<double> &);

}  // namespace fernn
