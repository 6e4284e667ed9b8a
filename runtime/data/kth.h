// `fernn data import-kth`: the KTH action videos (person01_walking_d1_uncomp.avi, ...) and their
// annotation 00sequences.txt turned into clips as the reference prepares them
// (kth/train_kth_classification.py): gray, resized to size×size with area resampling (the
// pixels stay bytes: a clip reader divides by 255), `frames` frames taken every `step`-th frame
// from an annotated segment (annotation numbers used as 0-based indices, segments shorter than
// frames·step dropped, as the reference), split by person: 1-16 train, 17-20 validation,
// 21-25 test. Labels: walking 0, jogging 1, running 2, boxing 3, handwaving 4, handclapping 5.
//
// The reference draws each clip's start uniformly in the segment anew at every access; the
// importer draws `clips_per_segment` starts per segment once, from (seed, segment, clip), and
// records them in kth.json.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fernn {

struct KthOptions {
    std::string dir;  // the videos (or dir/kth_actions) and 00sequences.txt
    std::string out;  // writes out/{train,val,test}/{clips,labels}.npy and out/kth.json
    int size = 32, frames = 16, step = 2, clips_per_segment = 1;
    uint64_t seed = 0;
};

struct KthReport {
    int64_t train = 0, val = 0, test = 0;  // clips written
    int64_t videos = 0;
    std::vector<std::string> missing;  // annotated videos not found
};

const std::vector<std::string> &kth_actions();

KthReport import_kth(const KthOptions &options);

}  // namespace fernn
