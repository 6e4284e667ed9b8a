#include "runtime/data/kth.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "runtime/data/rng.h"
#include "runtime/data/video.h"
#include "runtime/formats/atomic_file.h"
#include "runtime/formats/npy.h"
#include "runtime/formats/strict_number.h"
#include "runtime/spec/json_reader.h"

namespace fernn {

namespace {

namespace fs = std::filesystem;

struct Segment {
    std::string video;  // e.g. person01_boxing_d1
    int first, last;    // 0-based frame indices, inclusive (the annotation's numbers)
    int person, label;
};

// The annotation file: "person01_boxing_d1  frames  1-95, 96-185, ..." per line.
std::vector<Segment> read_annotations(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw InputError(path + ": cannot open the KTH annotation file");
    const std::regex line_re(R"(^(\S+)\s+frames\s+([\d,\s\-]+)$)");
    const std::regex name_re(R"(^person(\d\d)_([a-z]+)_d\d$)");
    std::vector<Segment> out;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
            line.pop_back();
        // The real file's lines are ~100 characters; std::regex recurses per character.
        if (line.size() > 1000) {
            throw InputError(path + ": line " + std::to_string(number) + " has " +
                             std::to_string(line.size()) + " characters; allowed: at most 1000");
        }
        std::smatch m, n;
        if (!std::regex_match(line, m, line_re)) continue;  // headers and blank lines
        const std::string video = m[1];
        if (!std::regex_match(video, n, name_re)) {
            throw InputError(path + ": line " + std::to_string(number) + ": \"" + video +
                             "\" is not a KTH name (personNN_action_dN)");
        }
        const auto &actions = kth_actions();
        const auto it = std::find(actions.begin(), actions.end(), n[2].str());
        if (it == actions.end()) {
            throw InputError(path + ": line " + std::to_string(number) + ": unknown action \"" +
                             n[2].str() + "\"");
        }
        const int person = int(*parse_int64(n[1], 0, 99));  // two digits, matched above
        std::stringstream ranges(m[2].str());
        std::string range;
        while (std::getline(ranges, range, ',')) {
            range.erase(std::remove_if(range.begin(), range.end(), ::isspace), range.end());
            if (range.empty()) continue;
            const size_t dash = range.find('-');
            const auto s = parse_int64(range.substr(0, dash), 1, 1000000);
            const auto e = dash == std::string::npos ? s : parse_int64(range.substr(dash + 1), 1, 1000000);
            if (!s || !e || *e < *s) {
                throw InputError(path + ": line " + std::to_string(number) + ": bad range \"" +
                                 bounded_text(range, 40) +
                                 "\"; allowed: FIRST-LAST frame numbers, 1 <= FIRST <= LAST");
            }
            out.push_back({video, int(*s), int(*e), person, int(it - actions.begin())});
        }
    }
    return out;
}

std::string find_video(const std::string &dir, const std::string &video) {
    for (const std::string &d : {dir, dir + "/kth_actions"}) {
        const std::string p = d + "/" + video + "_uncomp.avi";
        if (fs::exists(p)) return p;
    }
    return "";
}

}  // namespace

const std::vector<std::string> &kth_actions() {
    static const std::vector<std::string> a{"walking", "jogging",    "running",
                                            "boxing",  "handwaving", "handclapping"};
    return a;
}

KthReport import_kth(const KthOptions &o) {
    const std::string annotations = o.dir + "/00sequences.txt";
    const std::vector<Segment> segments = read_annotations(annotations);
    if (segments.empty()) throw InputError(annotations + ": no annotated segments");
    const int length = o.frames * o.step;
    struct Clip {
        std::string video;
        int first, last, start, label;
    };
    std::map<std::string, std::vector<Clip>> clips;  // by split
    std::map<std::string, std::vector<uint8_t>> pixels;
    std::map<std::string, std::vector<int64_t>> labels;
    KthReport report;
    std::string current;
    GrayVideo video;
    std::vector<std::vector<uint8_t>> small;  // the current video's frames at size×size
    for (size_t k = 0; k < segments.size(); ++k) {
        const Segment &seg = segments[k];
        if (seg.video != current) {
            current = seg.video;
            small.clear();
            const std::string path = find_video(o.dir, seg.video);
            if (path.empty()) {
                report.missing.push_back(seg.video);  // the reference skips these too
                continue;
            }
            video = read_gray_video(path);
            for (const auto &f : video.frames)
                small.push_back(resize_area(f, video.width, video.height, o.size, o.size));
            ++report.videos;
        }
        if (small.empty()) continue;
        const int total = int(small.size());
        const int first = seg.first, last = std::min(seg.last, total - 1);
        if (first < 0 || last - first + 1 < length) continue;  // too short, as the reference
        const std::string split = seg.person <= 16 ? "train" : seg.person <= 20 ? "val" : "test";
        for (int j = 0; j < o.clips_per_segment; ++j) {
            SplitMix64 rng = SplitMix64::stream(o.seed, k, uint64_t(j));
            const int start = int(rng.integer(first, last - length + 1));
            for (int t = 0; t < o.frames; ++t) {
                const auto &f = small[size_t(start + t * o.step)];
                pixels[split].insert(pixels[split].end(), f.begin(), f.end());
            }
            labels[split].push_back(seg.label);
            clips[split].push_back({seg.video, first, last, start, seg.label});
        }
    }
    json index{{"classes", kth_actions()},
               {"frames", o.frames},
               {"step", o.step},
               {"size", o.size},
               {"seed", o.seed},
               {"clips_per_segment", o.clips_per_segment},
               {"source", fs::absolute(o.dir).string()},
               {"missing_videos", report.missing}};
    for (const char *split : {"train", "val", "test"}) {
        const auto &list = clips[split];
        if (list.empty()) {
            throw InputError(o.dir + ": no " + std::string(split) +
                             " clips (persons 1-16 train, 17-20 validation, 21-25 test, segments "
                             "of at least " +
                             std::to_string(length) + " frames)");
        }
        const std::string dir = o.out + "/" + split;
        fs::create_directories(dir);
        write_npy_bytes(dir + "/clips.npy", {int64_t(list.size()), o.frames, 1, o.size, o.size},
                        pixels[split]);
        write_npy_integers(dir + "/labels.npy", labels[split]);
        json entries = json::array();
        for (const Clip &c : list) {
            entries.push_back({{"video", c.video},
                               {"segment", {c.first, c.last}},
                               {"start", c.start},
                               {"label", c.label}});
        }
        index["clips"][split] = entries;
    }
    write_file_atomically(o.out + "/kth.json", index.dump(1) + "\n");
    report.train = int64_t(clips["train"].size());
    report.val = int64_t(clips["val"].size());
    report.test = int64_t(clips["test"].size());
    return report;
}

}  // namespace fernn
