#include "runtime/formats/png.h"

#include <algorithm>
#include <cmath>

#include "runtime/formats/atomic_file.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace fernn {

void write_gray_png(const std::string &path, int width, int height,
                    const std::vector<float> &values) {
    std::vector<uint8_t> bytes(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
        bytes[i] = static_cast<uint8_t>(std::lround(255.0f * std::clamp(values[i], 0.0f, 1.0f)));
    }
    std::string encoded;
    stbi_write_png_to_func(
        [](void *context, void *data, int size) {
            static_cast<std::string *>(context)->append(static_cast<const char *>(data), size);
        },
        &encoded, width, height, 1, bytes.data(), width);
    write_file_atomically(path, encoded);
}

}  // namespace fernn
