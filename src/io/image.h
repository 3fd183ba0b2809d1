#pragma once
// PNG and JPEG files decoded to 8-bit RGB (Debian libpng and libjpeg), for
// models that take pictures (`tern run MODEL --input photo.png`, the OCR example).
#include <cstdint>
#include <string>
#include <vector>

namespace tern {

struct RgbImage {
    int64_t width = 0, height = 0;
    std::vector<uint8_t> rgb;  // (height, width, 3), row-major

    uint8_t at(int64_t y, int64_t x, int c) const { return rgb[static_cast<size_t>((y * width + x) * 3 + c)]; }
};

// True when `path` ends in .png, .jpg or .jpeg (any case).
bool is_image_path(const std::string& path);
// Decodes by the file's signature, not its name. InputError naming the file when
// it is neither format, is damaged, or is larger than 2^28 pixels.
RgbImage read_image(const std::string& path);

}  // namespace tern
