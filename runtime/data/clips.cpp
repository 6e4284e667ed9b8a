// Sequences from files: `clips:DIR` holds DIR/{train,val,test}/clips.npy (N, T, C, H, W),
// uint8 (pixel / 255) or float32, memory-mapped, and for classifiers labels.npy (N,) int64 beside
// each; or a single DIR/clips.npy (+ labels.npy), split by a fixed permutation into 80% train,
// 10% validation and 10% test. `fernn data import-kth` writes the first layout.
//
// As the reference's KTH dataset: clip k of a split moves with a fixed velocity (vx, vy) drawn
// by np.random.RandomState(42).randint(-d, d + 1) (vx, then vy, clip after clip) when the range
// d > 0: frame t becomes torch.roll(frame, (-vy·t, -vx·t)); training also flips each sequence
// horizontally with probability 1/2 after the shift. Training visits the clips in a new
// permutation each epoch; sequence i's clip and flip depend only on (seed, i).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "runtime/data/numpy_random.h"
#include "runtime/data/rng.h"
#include "runtime/data/sequence_source.h"
#include "runtime/formats/npy.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kFlipStream = 0x666c6970;  // "flip"

// A read-only memory map of a clips.npy: (N, T, C, H, W), uint8 or float32.
class ClipFile {
  public:
    explicit ClipFile(const std::string &path) : path_(path) {
        const NpyHeader h = read_npy_header(path);
        if (h.shape.size() != 5) {
            throw InputError(path + ": has shape " + shape_text(h.shape) +
                             "; allowed: (N, T, C, H, W)");
        }
        if (h.descr != "|u1" && h.descr != "<u1" && h.descr != "u1" && h.descr != "<f4" &&
            h.descr != "=f4") {
            throw InputError(path + ": dtype '" + h.descr +
                             "' is not supported for clips; allowed: '|u1' (uint8, read as "
                             "pixel / 255) or '<f4' (float32)");
        }
        shape_ = h.shape;
        bytes_ = h.descr.back() == '1' ? 1 : 4;
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) throw InputError(path + ": cannot open");
        struct stat st {};
        fstat(fd, &st);
        size_ = size_t(st.st_size);
        void *p = size_ ? mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
        ::close(fd);
        if (p == MAP_FAILED) throw InputError(path + ": cannot map into memory");
        map_ = static_cast<const uint8_t *>(p);
        data_ = map_ + h.data_offset;
    }
    ~ClipFile() {
        if (map_) munmap(const_cast<uint8_t *>(map_), size_);
    }
    ClipFile(const ClipFile &) = delete;
    ClipFile &operator=(const ClipFile &) = delete;

    int64_t count() const { return shape_[0]; }
    const std::vector<int64_t> &shape() const { return shape_; }
    const std::string &path() const { return path_; }
    // Pixel (clip, t, c, y, x) as float.
    float at(int64_t clip, int64_t t, int64_t c, int64_t y, int64_t x) const {
        const int64_t i =
            (((clip * shape_[1] + t) * shape_[2] + c) * shape_[3] + y) * shape_[4] + x;
        if (bytes_ == 1) return data_[i] / 255.0f;
        float v;
        std::memcpy(&v, data_ + 4 * i, 4);
        return v;
    }

  private:
    std::string path_;
    std::vector<int64_t> shape_;
    int bytes_ = 1;
    size_t size_ = 0;
    const uint8_t *map_ = nullptr, *data_ = nullptr;
};

// One split: rows of a clip file (and their labels).
struct ClipSplit {
    std::shared_ptr<const ClipFile> file;
    std::vector<int64_t> rows;
    std::vector<int64_t> labels;  // per row of the file; empty without labels.npy
    std::string labels_path;
};

class ClipSource : public SequenceSource {
  public:
    ClipSource(const ClipSplit &split, const SourceConfig &c, bool shuffle)
        : split_(split), c_(c), shuffle_(shuffle) {
        const auto &s = split.file->shape();
        const std::string need = "(N, T >= " + std::to_string(c.frames) + ", " +
                                 std::to_string(c.channels) + ", " + std::to_string(c.height) +
                                 ", " + std::to_string(c.width) + ")";
        if (s[1] < c.frames || s[2] != c.channels || s[3] != c.height || s[4] != c.width) {
            throw InputError(split.file->path() + ": has shape " + shape_text(s) +
                             "; the model needs " + need);
        }
        if (c.labels && split.labels.empty()) {
            throw InputError(split.file->path() +
                             ": no labels.npy beside it; a classifier needs "
                             "labels (N,) int64");
        }
        if (split.rows.empty()) throw InputError(split.file->path() + ": the split has no clips");
        // The reference draws one velocity per clip of the split, in order, from RandomState(42).
        NumpyRandomState rng(42);
        // The shifts are translations: a rotation model's clips are used as they are.
        const int d = c.motion == DataMotion::Rotation ? 0 : c.velocity_range;
        for (size_t k = 0; k < split.rows.size(); ++k) {
            const int64_t vx = d > 0 ? rng.randint(-d, d + 1) : 0;
            const int64_t vy = d > 0 ? rng.randint(-d, d + 1) : 0;
            velocity_.emplace_back(int(vx), int(vy));
        }
    }

    SequenceBatch batch(uint64_t first, int count) const override {
        SequenceBatch b;
        const int T = c_.frames, C = c_.channels, H = c_.height, W = c_.width;
        b.frames = Array<float>({count, T, C, H, W});
        const uint64_t n = split_.rows.size();
        for (int i = 0; i < count; ++i) {
            const uint64_t index = first + uint64_t(i);
            const uint64_t k = shuffle_ ? position(index / n, index % n) : index % n;
            const int64_t row = split_.rows[k];
            const auto [vx, vy] = velocity_[k];
            const bool flip =
                c_.flips && SplitMix64::stream(c_.seed, kFlipStream, index).uniform() < 0.5;
            float *out = b.frames.data.data() + size_t(i) * T * C * H * W;
            for (int t = 0; t < T; ++t)
                for (int ch = 0; ch < C; ++ch)
                    for (int y = 0; y < H; ++y) {
                        const int64_t sy = ((y + int64_t(vy) * t) % H + H) % H;
                        for (int x = 0; x < W; ++x) {
                            const int xf = flip ? W - 1 - x : x;
                            const int64_t sx = ((xf + int64_t(vx) * t) % W + W) % W;
                            out[((t * C + ch) * H + y) * W + x] =
                                split_.file->at(row, t, ch, sy, sx);
                        }
                    }
            if (c_.labels) b.labels.push_back(split_.labels[size_t(row)]);
        }
        return b;
    }

    int64_t size() const override { return int64_t(split_.rows.size()); }

  private:
    // Position p of epoch e's permutation of the split (Fisher-Yates, seeded by (seed, e)).
    uint64_t position(uint64_t epoch, uint64_t p) const {
        std::lock_guard<std::mutex> lock(mutex_);
        if (epoch != epoch_ || order_.empty()) {
            order_.resize(split_.rows.size());
            for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            SplitMix64 rng = SplitMix64::stream(c_.seed, c_.stream, epoch);
            for (size_t i = order_.size(); i-- > 1;)
                std::swap(order_[i], order_[size_t(rng.integer(0, int64_t(i)))]);
            epoch_ = epoch;
        }
        return order_[p];
    }

    ClipSplit split_;
    SourceConfig c_;
    bool shuffle_;
    std::vector<std::pair<int, int>> velocity_;
    mutable std::mutex mutex_;
    mutable uint64_t epoch_ = 0;
    mutable std::vector<uint64_t> order_;
};

std::vector<int64_t> read_labels(const std::string &path, int64_t count) {
    std::vector<int64_t> labels = read_npy_integers(path);
    if (int64_t(labels.size()) != count) {
        throw InputError(path + ": holds " + std::to_string(labels.size()) +
                         " labels but clips.npy beside it holds " + std::to_string(count) +
                         " clips");
    }
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0) throw InputError(path + ": label " + std::to_string(i) + " is negative");
    }
    return labels;
}

ClipSplit split_at(const std::string &dir) {
    ClipSplit s;
    s.file = std::make_shared<ClipFile>(dir + "/clips.npy");
    for (int64_t i = 0; i < s.file->count(); ++i) s.rows.push_back(i);
    s.labels_path = dir + "/labels.npy";
    if (fs::exists(s.labels_path)) s.labels = read_labels(s.labels_path, s.file->count());
    return s;
}

class ClipData : public DataSet {
  public:
    explicit ClipData(const std::string &dir) : dir_(dir) {
        if (fs::exists(dir + "/train/clips.npy")) {
            for (const char *name : {"train", "val", "test"}) {
                if (!fs::exists(dir + "/" + name + "/clips.npy")) {
                    throw InputError(dir + ": has train/clips.npy but no " + name +
                                     "/clips.npy; allowed: train, val and test, or one clips.npy");
                }
            }
            splits_ = {split_at(dir + "/train"), split_at(dir + "/val"), split_at(dir + "/test")};
            return;
        }
        if (!fs::exists(dir + "/clips.npy")) {
            throw InputError(dir +
                             ": no clips; expected train/clips.npy, val/clips.npy and "
                             "test/clips.npy, or clips.npy (N, T, C, H, W)");
        }
        // One file: test = the first 10% of a fixed permutation, validation the next 10%.
        const ClipSplit all = split_at(dir);
        const int64_t n = all.file->count();
        if (n < 3)
            throw InputError(dir + "/clips.npy: too few clips to split (" + std::to_string(n) +
                             ")");
        std::vector<int64_t> order(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
        SplitMix64 rng{kSplitSeed};
        for (size_t i = order.size(); i-- > 1;)
            std::swap(order[i], order[size_t(rng.integer(0, int64_t(i)))]);
        const int64_t tenth = std::max<int64_t>(1, n / 10);
        auto part = [&](int64_t from, int64_t to) {
            ClipSplit s = all;
            s.rows.assign(order.begin() + from, order.begin() + to);
            std::sort(s.rows.begin(), s.rows.end());
            return s;
        };
        splits_ = {part(2 * tenth, n), part(tenth, 2 * tenth), part(0, tenth)};
    }

    std::unique_ptr<SequenceSource> source(Split split, const SourceConfig &c) const override {
        return std::make_unique<ClipSource>(splits_[int(split)], c, split == Split::Train);
    }
    int64_t count(Split split) const override { return int64_t(splits_[int(split)].rows.size()); }
    std::string name() const override { return "clips:" + dir_; }
    std::string dir() const override { return dir_; }
    std::string kind() const override { return "clips"; }

  private:
    std::string dir_;
    std::vector<ClipSplit> splits_;
};

}  // namespace

std::unique_ptr<DataSet> open_clips(const std::string &dir) {
    if (!fs::is_directory(dir)) throw InputError("clips:" + dir + ": not a directory");
    return std::make_unique<ClipData>(dir);
}

}  // namespace fernn
