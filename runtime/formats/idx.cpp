#include "runtime/formats/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/checked_size.h"
#include "runtime/formats/array.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

std::string inflate_gzip(const std::string &compressed, uint64_t most, const std::string &path) {
    z_stream z{};
    // 15 + 32: a gzip or zlib stream, detected from its header.
    if (inflateInit2(&z, 15 + 32) != Z_OK) throw InputError(path + ": cannot start zlib");
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(compressed.data()));
    z.avail_in = uInt(std::min<size_t>(compressed.size(), UINT32_MAX));
    std::string out;
    char buf[1 << 16];
    int rc = Z_OK;
    while (out.size() < most) {
        const uInt room = uInt(std::min<uint64_t>(sizeof buf, most - out.size()));
        z.next_out = reinterpret_cast<Bytef *>(buf);
        z.avail_out = room;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, room - z.avail_out);
        // Z_BUF_ERROR: no progress possible (the input ended); anything else: corrupt data.
        if (rc != Z_OK) break;
    }
    const bool ended = rc == Z_STREAM_END;
    const std::string why = z.msg ? z.msg : "";
    inflateEnd(&z);
    if (out.size() >= most && !ended) return out;  // stopped at the bound; the caller decides
    if (!ended) {
        throw InputError(path + ": corrupt or truncated gzip data" + (why.empty() ? "" : ": " + why));
    }
    return out;
}

namespace {

// The dimensions of an IDX header and the payload size they claim, checked.
struct IdxHeader {
    std::vector<int> dims;
    size_t at = 0;         // where the payload starts
    uint64_t payload = 0;  // bytes the dimensions need
};

IdxHeader parse_idx_header(const std::string &bytes, const std::string &path) {
    if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
        throw InputError(path + ": not an IDX file (bad magic number)");
    }
    if (static_cast<uint8_t>(bytes[2]) != 0x08) {
        char type[8];
        std::snprintf(type, sizeof type, "0x%02x", unsigned(uint8_t(bytes[2])));
        throw InputError(path + ": IDX element type " + type +
                         " is not supported; allowed: 0x08 (unsigned byte)");
    }
    const int ndims = static_cast<uint8_t>(bytes[3]);
    if (ndims < 1 || size_t(ndims) > kMaxArrayDims || bytes.size() < 4 + 4 * size_t(ndims)) {
        throw InputError(path + ": truncated IDX header or " + std::to_string(ndims) +
                         " dimensions; allowed: 1.." + std::to_string(kMaxArrayDims));
    }
    IdxHeader h;
    std::vector<int64_t> shape;
    for (int i = 0; i < ndims; ++i) {
        uint32_t d = 0;
        for (int k = 0; k < 4; ++k) d = (d << 8) | static_cast<uint8_t>(bytes[4 + 4 * i + k]);
        if (d == 0 || d > (1u << 30))
            throw InputError(path + ": IDX dimension " + std::to_string(d) + " is invalid");
        h.dims.push_back(static_cast<int>(d));
        shape.push_back(d);
    }
    h.at = 4 + 4 * size_t(ndims);
    const auto payload = shape_bytes(shape, 1);
    if (!payload || *payload > kMaxIdxBytes) {
        throw InputError(path + ": IDX dimensions " + shape_text(shape) + " claim " +
                         (payload ? std::to_string(*payload) : std::string("more than 2^64")) +
                         " bytes; allowed: at most " + std::to_string(kMaxIdxBytes));
    }
    h.payload = *payload;
    return h;
}

}  // namespace

IdxArray parse_idx(const std::string &bytes, const std::string &path) {
    const IdxHeader h = parse_idx_header(bytes, path);
    if (bytes.size() - h.at != h.payload) {
        throw InputError(path + ": IDX payload has " + std::to_string(bytes.size() - h.at) +
                         " bytes but its dimensions need " + std::to_string(h.payload));
    }
    IdxArray out;
    out.dims = h.dims;
    out.data.assign(bytes.begin() + h.at, bytes.end());
    return out;
}

IdxArray parse_idx_gzip(const std::string &compressed, const std::string &path) {
    // The header first (at most 4 + 4 * 32 bytes), then exactly the bytes it claims, so that a
    // small file cannot inflate without bound: one byte more than claimed is an error.
    const IdxHeader h = parse_idx_header(inflate_gzip(compressed, 4 + 4 * kMaxArrayDims, path), path);
    const uint64_t total = h.at + h.payload;
    if (total > kGzipRatioFloor && total / kMaxGzipRatio > compressed.size()) {
        throw InputError(path + ": claims " + std::to_string(total) + " bytes from " +
                         std::to_string(compressed.size()) + " compressed; allowed: at most " +
                         std::to_string(kMaxGzipRatio) + " times the compressed size");
    }
    const std::string bytes = inflate_gzip(compressed, total + 1, path);
    if (bytes.size() > total) {
        throw InputError(path + ": gzip data inflates beyond the " + std::to_string(total) +
                         " bytes its IDX header claims");
    }
    return parse_idx(bytes, path);
}

bool idx_exists(const std::string &path) {
    return std::filesystem::exists(path) || std::filesystem::exists(path + ".gz");
}

IdxArray read_idx(const std::string &path) {
    std::string file = path;
    if (!std::filesystem::exists(file) && std::filesystem::exists(path + ".gz"))
        file = path + ".gz";
    const bool gz = file.size() > 3 && file.compare(file.size() - 3, 3, ".gz") == 0;
    const std::string bytes = read_file_bytes(file, kMaxIdxBytes + 4 + 4 * kMaxArrayDims);
    return gz ? parse_idx_gzip(bytes, file) : parse_idx(bytes, file);
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
