#pragma once
// A picture as a model input: resized, channel-ordered and normalised the way
// the model was trained (`tern run MODEL --input photo.png --image-norm ...`).
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "io/image.h"

namespace tern::vision {

enum class ImageNorm {
    unit,        // RGB, v / 255
    imagenet,    // RGB, (v / 255 - ImageNet mean) / ImageNet std
    paddle_det,  // BGR, ImageNet mean/std in that order (PaddleOCR's detector)
    paddle_rec,  // BGR, (v / 255 - 0.5) / 0.5 (PaddleOCR's recognizer and direction classifier)
};
// nullopt-free parse: UsageError listing the allowed names.
ImageNorm parse_image_norm(const std::string& name);
inline constexpr const char* kImageNormNames = "unit, imagenet, paddle-det, paddle-rec";

// (1, 3, height, width) float32 from `img` resized (bilinear) to width x height.
Tensor image_tensor(const RgbImage& img, ImageNorm norm, int64_t width, int64_t height);

}  // namespace tern::vision
