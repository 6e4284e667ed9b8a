// Reading videos as the reference prepares KTH frames with OpenCV: every frame decoded by
// FFmpeg's libraries (libavformat, libavcodec) and converted to BGR24 by libswscale as
// OpenCV's FFmpeg backend does, then cv::cvtColor(BGR2GRAY) and cv::resize(INTER_AREA), each
// reimplemented here with OpenCV's arithmetic (fixed-point gray weights; area weights in
// float, rounded to the nearest byte). Linked into `fernn` only (fernn-run needs no FFmpeg).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fernn {

struct GrayVideo {
    int width = 0, height = 0;
    std::vector<std::vector<uint8_t>> frames;  // height × width each
};

// Decodes every frame of `path` to 8-bit gray at its own size. Throws InputError with FFmpeg's
// message on a file it cannot read.
GrayVideo read_gray_video(const std::string &path);

// cv::cvtColor(COLOR_BGR2GRAY) of one BGR24 pixel.
uint8_t bgr_to_gray(uint8_t b, uint8_t g, uint8_t r);

// cv::resize(src, (width, height), interpolation=INTER_AREA) of an 8-bit gray image.
std::vector<uint8_t> resize_area(const std::vector<uint8_t> &src, int src_width, int src_height,
                                 int width, int height);

}  // namespace fernn
