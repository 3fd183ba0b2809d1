#pragma once
// Text images rendered at test time by ImageMagick (`convert label:`, DejaVu
// Sans from Debian fonts-dejavu-core) and the PaddleOCR input tensors made from
// them: nothing binary is committed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/image.h"
#include "../ref/process.h"
#include "../ref/reference.h"

namespace tern::testgraph {

inline testref::Reference imagemagick_reference() {
    if (std::system("convert -version >/dev/null 2>&1") != 0)
        return testref::Reference::missing("ImageMagick's convert is not installed (apt imagemagick; scripts/setup.sh)");
    return testref::file_reference("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "apt fonts-dejavu-core (scripts/setup.sh)");
}

// Binary PPM (P6, maxval 255) as ImageMagick writes it.
inline RgbImage read_ppm(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t pos = 0;
    auto token = [&]() {
        while (pos < bytes.size()) {
            if (bytes[pos] == '#') {
                while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
            } else if (std::isspace(static_cast<unsigned char>(bytes[pos]))) {
                ++pos;
            } else {
                break;
            }
        }
        const size_t start = pos;
        while (pos < bytes.size() && !std::isspace(static_cast<unsigned char>(bytes[pos]))) ++pos;
        return bytes.substr(start, pos - start);
    };
    RgbImage img;
    if (token() != "P6") return img;
    img.width = std::stoll(token());
    img.height = std::stoll(token());
    if (token() != "255") return {};
    ++pos;  // the one whitespace byte before the pixels
    const size_t n = static_cast<size_t>(img.width * img.height * 3);
    if (bytes.size() < pos + n) return {};
    img.rgb.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos), bytes.begin() + static_cast<std::ptrdiff_t>(pos + n));
    return img;
}

// Black `text` on white, `convert_args` applied after rendering (e.g. "-resize 192x48!"), as an RGB image.
inline RgbImage render_text(const std::string& dir, const std::string& text, int pointsize, const std::string& convert_args) {
    const std::string out = dir + "/text.ppm";
    const std::string cmd = "convert -background white -fill black -font DejaVu-Sans -pointsize " + std::to_string(pointsize) +
                            " " + testref::shell_quote("label:" + text) + " " + convert_args + " -depth 8 " + testref::shell_quote(out);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return read_ppm(out);
}

// (1, 3, H, W) float32 in BGR order (PaddleOCR reads images with OpenCV), (v/255 - mean[c]) / std[c].
inline Tensor paddle_input(const RgbImage& img, const float mean[3], const float stdev[3]) {
    Tensor t = Tensor::empty({1, 3, img.height, img.width}, DType::f32);
    float* p = t.data<float>();
    const int64_t plane = img.height * img.width;
    for (int64_t i = 0; i < plane; ++i) {
        for (int c = 0; c < 3; ++c) {
            const float v = img.rgb[static_cast<size_t>(i * 3 + (2 - c))] / 255.f;
            p[c * plane + i] = (v - mean[c]) / stdev[c];
        }
    }
    return t;
}

// Recognizer and direction classifier: (x/255 - 0.5) / 0.5.
inline Tensor rec_input(const RgbImage& img) {
    const float mean[3] = {0.5f, 0.5f, 0.5f}, stdev[3] = {0.5f, 0.5f, 0.5f};
    return paddle_input(img, mean, stdev);
}

// Detector: ImageNet mean and std, as PaddleOCR's det preprocessing.
inline Tensor det_input(const RgbImage& img) {
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdev[3] = {0.229f, 0.224f, 0.225f};
    return paddle_input(img, mean, stdev);
}

}  // namespace tern::testgraph
