// Grayscale PNG output (stb_image_write), for image strips of sequences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fernn {

// values: height × width in [0, 1] (clamped); written atomically.
void write_gray_png(const std::string &path, int width, int height,
                    const std::vector<float> &values);

}  // namespace fernn
