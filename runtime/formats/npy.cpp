#include "runtime/formats/npy.h"

#include <cstring>
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

}  // namespace

template <typename T>
Array<T> read_npy(const std::string &path) {
    const std::string bytes = read_file_bytes(path);
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
    const Header h = parse_header(bytes.substr(offset, header_len), path);
    if (h.fortran) {
        throw InputError(path +
                         ": array is in Fortran order; allowed: C order "
                         "(save np.ascontiguousarray(x))");
    }
    size_t item = 0;
    if (h.descr == "<f4" || h.descr == "=f4") {
        item = 4;
    } else if (h.descr == "<f8" || h.descr == "=f8") {
        item = 8;
    } else {
        throw InputError(path + ": dtype '" + h.descr +
                         "' is not supported; allowed: '<f4' (float32) or '<f8' (float64)");
    }
    Array<T> out(h.shape);
    const size_t data_at = offset + header_len;
    const size_t need = static_cast<size_t>(out.numel()) * item;
    if (bytes.size() - data_at != need) {
        throw InputError(path + ": payload has " + std::to_string(bytes.size() - data_at) +
                         " bytes but shape " + shape_text(h.shape) + " needs " +
                         std::to_string(need));
    }
    decode_floats(bytes.data() + data_at, item, out.data);
    return out;
}

template <typename T>
std::string encode_npy(const Array<T> &array) {
    std::string dict = std::string("{'descr': '") + descr_of<T>() +
                       "', 'fortran_order': False, 'shape': " + shape_text(array.shape) + ", }";
    // Total header (magic + version + length + dict + '\n') is padded to a multiple of 64.
    const size_t unpadded = 10 + dict.size() + 1;
    dict.append((64 - unpadded % 64) % 64, ' ');
    dict.push_back('\n');
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes.push_back(static_cast<char>(dict.size() & 0xff));
    bytes.push_back(static_cast<char>(dict.size() >> 8));
    bytes += dict;
    bytes.append(reinterpret_cast<const char *>(array.data.data()), array.data.size() * sizeof(T));
    return bytes;
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
