#include "runtime/formats/idx.h"

#include <zlib.h>

#include <filesystem>

#include "runtime/formats/atomic_file.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

std::string read_gzip(const std::string &path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw InputError(path + ": cannot open file for reading");
    std::string out;
    char buf[1 << 16];
    int n;
    while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
    int err = Z_OK;
    const char *message = gzerror(f, &err);
    const bool failed = n < 0 || (err != Z_OK && err != Z_STREAM_END);
    const std::string why = failed ? message : "";
    gzclose(f);
    if (failed) throw InputError(path + ": corrupt gzip data: " + why);
    return out;
}

}  // namespace

bool idx_exists(const std::string &path) {
    return std::filesystem::exists(path) || std::filesystem::exists(path + ".gz");
}

IdxArray read_idx(const std::string &path) {
    std::string file = path;
    if (!std::filesystem::exists(file) && std::filesystem::exists(path + ".gz"))
        file = path + ".gz";
    const bool gz = file.size() > 3 && file.compare(file.size() - 3, 3, ".gz") == 0;
    const std::string bytes = gz ? read_gzip(file) : read_file_bytes(file);
    if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
        throw InputError(file + ": not an IDX file (bad magic number)");
    }
    if (static_cast<uint8_t>(bytes[2]) != 0x08) {
        throw InputError(file + ": IDX element type 0x" + std::to_string(uint8_t(bytes[2])) +
                         " is not supported; allowed: 0x08 (unsigned byte)");
    }
    const int ndims = static_cast<uint8_t>(bytes[3]);
    if (ndims < 1 || bytes.size() < 4 + 4 * size_t(ndims))
        throw InputError(file + ": truncated IDX header");
    IdxArray out;
    size_t count = 1;
    for (int i = 0; i < ndims; ++i) {
        uint32_t d = 0;
        for (int k = 0; k < 4; ++k) d = (d << 8) | static_cast<uint8_t>(bytes[4 + 4 * i + k]);
        if (d == 0 || d > (1u << 30))
            throw InputError(file + ": IDX dimension " + std::to_string(d) + " is invalid");
        out.dims.push_back(static_cast<int>(d));
        count *= d;
    }
    const size_t at = 4 + 4 * size_t(ndims);
    if (bytes.size() - at != count) {
        throw InputError(file + ": IDX payload has " + std::to_string(bytes.size() - at) +
                         " bytes but its dimensions need " + std::to_string(count));
    }
    out.data.assign(bytes.begin() + at, bytes.end());
    return out;
}

void write_idx(const std::string &path, const IdxArray &array) {
    std::string bytes{'\0', '\0', '\x08', static_cast<char>(array.dims.size())};
    for (int d : array.dims) {
        for (int k = 3; k >= 0; --k)
            bytes.push_back(static_cast<char>((uint32_t(d) >> (8 * k)) & 0xff));
    }
    bytes.append(array.data.begin(), array.data.end());
    write_file_atomically(path, bytes);
}

}  // namespace fernn
