// .npy and .safetensors: round trips, files as numpy and the safetensors reference write
// them, and every malformed file rejected with a message naming it.
#include <gtest/gtest.h>

#include <cstring>

#include "runtime/formats/atomic_file.h"
#include "runtime/formats/npy.h"
#include "runtime/formats/safetensors.h"
#include "runtime/spec/json_reader.h"

using namespace fernn;

namespace {

std::string temp(const std::string &name) {
    return std::string(::testing::TempDir()) + "/" + name;
}

std::string error_reading_npy(const std::string &bytes) {
    const std::string path = temp("bad.npy");
    write_file_atomically(path, bytes);
    try {
        read_npy<float>(path);
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

std::string error_reading_st(const std::string &header, const std::string &data) {
    const std::string path = temp("bad.safetensors");
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
    write_file_atomically(path, bytes + header + data);
    try {
        read_safetensors<float>(path);
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

// A .npy file exactly as numpy 1.24 writes np.arange(6, dtype='<f8').reshape(2, 3).
std::string numpy_written_f8() {
    std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    dict.append((64 - (11 + dict.size()) % 64) % 64, ' ');
    dict += '\n';
    std::string bytes("\x93NUMPY\x01\x00", 8);
    bytes += static_cast<char>(dict.size());
    bytes += '\0';
    bytes += dict;
    for (int i = 0; i < 6; ++i) {
        const double d = i;
        bytes.append(reinterpret_cast<const char *>(&d), 8);
    }
    return bytes;
}

}  // namespace

TEST(Npy, RoundTripKeepsShapeAndValues) {
    Array<float> a({2, 3, 1, 4, 5});
    for (int64_t i = 0; i < a.numel(); ++i) a.data[i] = 0.5f * i - 3;
    write_npy(temp("a.npy"), a);
    const Array<float> b = read_npy<float>(temp("a.npy"));
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.data, a.data);
    const std::string bytes = read_file_bytes(temp("a.npy"));
    EXPECT_EQ((bytes.size() - a.numel() * 4) % 64, 0u);  // header padded to 64 bytes
}

TEST(Npy, ScalarsAndVectorsAndFloat64) {
    Array<double> s(std::vector<int64_t>{});
    s.data = {3.25};
    write_npy(temp("s.npy"), s);
    EXPECT_EQ(read_npy<double>(temp("s.npy")).shape, std::vector<int64_t>{});
    EXPECT_EQ(read_npy<double>(temp("s.npy")).data[0], 3.25);
    EXPECT_NE(read_file_bytes(temp("s.npy")).find("'shape': ()"), std::string::npos);
    Array<double> v(std::vector<int64_t>{4});
    EXPECT_NE(encode_npy(v).find("'shape': (4,)"), std::string::npos);
}

TEST(Npy, ReadsWhatNumpyWritesAndConverts) {
    write_file_atomically(temp("np.npy"), numpy_written_f8());
    const Array<float> a = read_npy<float>(temp("np.npy"));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(a.data, (AlignedVector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(Npy, MalformedFilesAreRejected) {
    EXPECT_NE(error_reading_npy("hello").find("bad.npy: not a .npy file"), std::string::npos);
    std::string fortran = numpy_written_f8();
    fortran.replace(fortran.find("False"), 5, "True ");
    EXPECT_NE(error_reading_npy(fortran).find("Fortran order"), std::string::npos);
    std::string ints = numpy_written_f8();
    ints.replace(ints.find("<f8"), 3, "<i8");
    EXPECT_NE(error_reading_npy(ints).find(
                  "dtype '<i8' is not supported; allowed: '<f4' (float32) or '<f8'"),
              std::string::npos);
    std::string big_endian = numpy_written_f8();
    big_endian.replace(big_endian.find("<f8"), 3, ">f8");
    EXPECT_NE(error_reading_npy(big_endian).find("'>f8' is not supported"), std::string::npos);
    std::string truncated = numpy_written_f8();
    truncated.resize(truncated.size() - 3);
    EXPECT_NE(error_reading_npy(truncated).find("needs 48"), std::string::npos);
    std::string bad_shape = numpy_written_f8();
    bad_shape.replace(bad_shape.find("(2, 3)"), 6, "(2, x)");
    EXPECT_NE(error_reading_npy(bad_shape).find("malformed .npy header"), std::string::npos);
    std::string version = numpy_written_f8();
    version[6] = 9;
    EXPECT_NE(error_reading_npy(version).find("version 9 is not supported"), std::string::npos);
}

TEST(Safetensors, RoundTripWithMetadataAndOrder) {
    TensorFile<float> f;
    Array<float> w({2, 1, 3, 3}), v(std::vector<int64_t>{5});
    for (int64_t i = 0; i < w.numel(); ++i) w.data[i] = float(i) / 7;
    v.data = {1, 2, 3, 4, 5};
    f.tensors = {{"cell.conv_u.weight", w}, {"b", v}};
    f.metadata = {{"note", "x"}};
    write_safetensors(temp("r.safetensors"), f);
    const auto g = read_safetensors<float>(temp("r.safetensors"));
    ASSERT_EQ(g.tensors.size(), 2u);
    EXPECT_EQ(g.tensors[0].first, "cell.conv_u.weight");  // file order of offsets
    EXPECT_EQ(g.find("cell.conv_u.weight")->data, w.data);
    EXPECT_EQ(g.find("b")->shape, (std::vector<int64_t>{5}));
    EXPECT_EQ(g.metadata.at("note"), "x");
    const std::string bytes = read_file_bytes(temp("r.safetensors"));
    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);  // data section aligned
}

TEST(Safetensors, Float64IsConvertedOnRead) {
    TensorFile<double> f;
    Array<double> a(std::vector<int64_t>{2});
    a.data = {0.125, -2};
    f.tensors = {{"x", a}};
    write_safetensors(temp("d.safetensors"), f);
    EXPECT_EQ(read_safetensors<float>(temp("d.safetensors")).find("x")->data,
              (AlignedVector<float>{0.125f, -2.f}));
}

TEST(Safetensors, MalformedFilesAreRejected) {
    const std::string eight(8, '\0'), sixteen(16, '\0');
    // The helper itself accepts a valid file, so each rejection below is about its one defect.
    EXPECT_EQ(error_reading_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight),
              "");
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", eight)
                  .find("dtype \"I32\"; allowed: \"F32\", \"F64\" or \"I64\""),
              std::string::npos);
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)
                  .find("needs 12"),
              std::string::npos);
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", sixteen)
                  .find("unclaimed"),
              std::string::npos);
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               sixteen)
                  .find("overlaps"),
              std::string::npos);
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", eight)
                  .find("outside"),
              std::string::npos);
    EXPECT_NE(error_reading_st(R"({"a":{"dtype":"F32","shape":[2]}})", eight).find("lacks"),
              std::string::npos);
    EXPECT_NE(error_reading_st("not json", eight).find("bad.safetensors"), std::string::npos);
    // A header length larger than the file.
    write_file_atomically(temp("short.safetensors"),
                          std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10));
    EXPECT_THROW(read_safetensors<float>(temp("short.safetensors")), InputError);
}

TEST(AtomicFile, ReplacesWholeFilesOnly) {
    const std::string path = temp("atomic.txt");
    write_file_atomically(path, "first");
    write_file_atomically(path, "second");
    EXPECT_EQ(read_file_bytes(path), "second");
    EXPECT_THROW(write_file_atomically(temp("no/such/dir/x"), "x"), InputError);
}
