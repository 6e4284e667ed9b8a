#include "runtime/formats/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <cctype>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/checked_size.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

struct Header {
    std::string descr;
    bool fortran = false;
    std::vector<int64_t> shape;
};

// The header is a Python dict literal, {'descr': '<f4', 'fortran_order': False, 'shape': (2,
// 3), }, padded with spaces and a newline. A scanner, not a regular expression: headers may be
// up to 4 GiB long (format 2.0) and std::regex recurses per character.
class HeaderScanner {
  public:
    HeaderScanner(const std::string &text, const std::string &path) : text_(text), path_(path) {}

    Header parse() {
        Header h;
        bool descr = false, fortran = false, shape = false;
        skip_space();
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') break;
            const std::string key = quoted();
            skip_space();
            expect(':');
            skip_space();
            if (key == "descr" && !descr) {
                if (peek() != '\'' && peek() != '"') {
                    throw bad("the dtype is not a plain type string (structured arrays are not "
                              "supported)");
                }
                h.descr = quoted();
                descr = true;
            } else if (key == "fortran_order" && !fortran) {
                h.fortran = word();
                fortran = true;
            } else if (key == "shape" && !shape) {
                h.shape = tuple();
                shape = true;
            } else {
                throw bad("key '" + printable_prefix(key, 40) +
                          "' is unknown or repeated; allowed: 'descr', 'fortran_order', 'shape'");
            }
            skip_space();
            if (peek() == ',') {
                ++at_;
                continue;
            }
            if (peek() != '}') throw bad("expected ',' or '}'");
        }
        ++at_;
        skip_space();
        if (at_ != text_.size()) throw bad("text after the closing '}'");
        if (!descr || !fortran || !shape) {
            throw bad(std::string("no '") + (!descr ? "descr" : !fortran ? "fortran_order" : "shape") +
                      "'");
        }
        return h;
    }

  private:
    InputError bad(const std::string &what) const {
        return InputError(path_ + ": malformed .npy header (" + what + " at character " +
                          std::to_string(at_) + "): " + printable_prefix(text_, 120));
    }
    char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t' ||
                                      text_[at_] == '\n' || text_[at_] == '\r'))
            ++at_;
    }
    void expect(char c) {
        if (peek() != c) throw bad(std::string("expected '") + c + "'");
        ++at_;
    }
    std::string quoted() {
        const char q = peek();
        if (q != '\'' && q != '"') throw bad("expected a quoted string");
        const size_t close = text_.find(q, at_ + 1);
        if (close == std::string::npos || close - at_ > 64) throw bad("unterminated or long string");
        std::string out = text_.substr(at_ + 1, close - at_ - 1);
        at_ = close + 1;
        return out;
    }
    bool word() {
        for (const char *w : {"True", "False"}) {
            if (text_.compare(at_, std::strlen(w), w) == 0) {
                at_ += std::strlen(w);
                return w[0] == 'T';
            }
        }
        throw bad("expected True or False");
    }
    // (d0, d1, ...), () or (d0,): non-negative integers of at most 18 digits.
    std::vector<int64_t> tuple() {
        std::vector<int64_t> dims;
        expect('(');
        while (true) {
            skip_space();
            if (peek() == ')') break;
            if (!std::isdigit(static_cast<unsigned char>(peek())))
                throw bad("a dimension is not a non-negative integer");
            int64_t d = 0;
            int digits = 0;
            while (std::isdigit(static_cast<unsigned char>(peek()))) {
                if (++digits > 18) throw bad("a dimension has more than 18 digits");
                d = d * 10 + (text_[at_++] - '0');
            }
            if (dims.size() == kMaxArrayDims) {
                throw bad("more than " + std::to_string(kMaxArrayDims) +
                          " dimensions; allowed: at most " + std::to_string(kMaxArrayDims));
            }
            dims.push_back(d);
            skip_space();
            if (peek() == ',') {
                ++at_;
            } else if (peek() != ')') {
                throw bad("expected ',' or ')' in the shape");
            }
        }
        ++at_;
        return dims;
    }

    const std::string &text_;
    const std::string &path_;
    size_t at_ = 0;
};

template <typename T>
constexpr const char *descr_of() {
    return sizeof(T) == 4 ? "<f4" : "<f8";
}

// The header and where the payload starts.
struct Layout {
    Header header;
    size_t data_at = 0;
};

// Reads the header from the first bytes of a file (at least the header).
Layout read_layout(const std::string &bytes, const std::string &path);
// Checks, before anything is allocated, that a file of `file_size` bytes holds exactly the
// payload the shape needs for elements of `item` bytes.
void check_payload(const Layout &l, uint64_t file_size, size_t item, const std::string &path);

// Element size of a dtype among `allowed` ({descr, size}), or an InputError listing them.
size_t item_size(const std::string &descr, const std::vector<std::pair<const char *, size_t>> &allowed,
                 const std::string &allowed_text, const std::string &path) {
    for (const auto &[d, size] : allowed) {
        if (descr == d) return size;
    }
    throw InputError(path + ": dtype '" + printable_prefix(descr, 40) +
                     "' is not supported; allowed: " + allowed_text);
}

const std::vector<std::pair<const char *, size_t>> kFloatTypes = {
    {"<f4", 4}, {"=f4", 4}, {"<f8", 8}, {"=f8", 8}};
const std::vector<std::pair<const char *, size_t>> kIntegerTypes = {
    {"<i8", 8}, {"=i8", 8}, {"<i4", 4}, {"=i4", 4}};

}  // namespace

template <typename T>
Array<T> parse_npy(const std::string &bytes, const std::string &path) {
    const Layout l = read_layout(bytes, path);
    const size_t item =
        item_size(l.header.descr, kFloatTypes, "'<f4' (float32) or '<f8' (float64)", path);
    check_payload(l, bytes.size(), item, path);
    Array<T> out(l.header.shape);
    decode_floats(bytes.data() + l.data_at, item, out.data);
    return out;
}

template <typename T>
Array<T> read_npy(const std::string &path) {
    return parse_npy<T>(read_file_bytes(path), path);
}

NpyHeader parse_npy_header(const std::string &head, uint64_t file_size, const std::string &path) {
    const Layout l = read_layout(head, path);
    const std::string &descr = l.header.descr;
    std::vector<std::pair<const char *, size_t>> types = {{"|u1", 1}, {"<u1", 1}, {"u1", 1}};
    types.insert(types.end(), kFloatTypes.begin(), kFloatTypes.end());
    types.insert(types.end(), kIntegerTypes.begin(), kIntegerTypes.end());
    const size_t item =
        item_size(descr, types, "'|u1' (uint8), '<f4', '<f8', '<i4', '<i8'", path);
    check_payload(l, file_size, item, path);
    return NpyHeader{descr, l.header.shape, l.data_at};
}

NpyHeader read_npy_header(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot open");
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size < 0) throw InputError(path + ": cannot determine the file's size");
    in.seekg(0);
    // Headers longer than this are refused by read_layout (kMaxNpyHeaderBytes).
    std::string head(size_t(std::min<uint64_t>(uint64_t(size), kMaxNpyHeaderBytes + 12)), '\0');
    in.read(head.data(), std::streamsize(head.size()));
    return parse_npy_header(head, uint64_t(size), path);
}

std::vector<int64_t> parse_npy_integers(const std::string &bytes, const std::string &path) {
    const Layout l = read_layout(bytes, path);
    const size_t item =
        item_size(l.header.descr, kIntegerTypes, "'<i8' (int64) or '<i4' (int32)", path);
    check_payload(l, bytes.size(), item, path);
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

std::vector<int64_t> read_npy_integers(const std::string &path) {
    return parse_npy_integers(read_file_bytes(path), path);
}

namespace {

Layout read_layout(const std::string &bytes, const std::string &path) {
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
    if (header_len > kMaxNpyHeaderBytes) {
        throw InputError(path + ": .npy header of " + std::to_string(header_len) +
                         " bytes; allowed: at most " + std::to_string(kMaxNpyHeaderBytes));
    }
    if (offset + header_len > bytes.size()) throw InputError(path + ": truncated .npy header");
    Layout l;
    l.header = HeaderScanner(bytes.substr(offset, header_len), path).parse();
    if (l.header.fortran) {
        throw InputError(path +
                         ": array is in Fortran order; allowed: C order "
                         "(save np.ascontiguousarray(x))");
    }
    l.data_at = offset + header_len;
    return l;
}

void check_payload(const Layout &l, uint64_t file_size, size_t item, const std::string &path) {
    const uint64_t have = file_size - l.data_at;
    const auto need = shape_bytes(l.header.shape, item);
    if (!need || have != *need) {
        throw InputError(path + ": payload has " + std::to_string(have) + " bytes but shape " +
                         shape_text(l.header.shape) + " needs " +
                         (need ? std::to_string(*need) : std::string("more than 2^64")));
    }
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

template Array<float> parse_npy<float>(const std::string &, const std::string &);
template Array<double> parse_npy<double>(const std::string &, const std::string &);
template Array<float> read_npy<float>(const std::string &);
template Array<double> read_npy<double>(const std::string &);
template void write_npy<float>(const std::string &, const Array<float> &);
template void write_npy<double>(const std::string &, const Array<double> &);
template std::string encode_npy<float>(const Array<float> &);
template std::string encode_npy<double>(const Array<double> &);

}  // namespace fernn
