#include "vision/image_tensor.h"

#include "core/error.h"
#include "vision/ocr.h"

namespace tern::vision {

ImageNorm parse_image_norm(const std::string& name) {
    if (name == "unit") return ImageNorm::unit;
    if (name == "imagenet") return ImageNorm::imagenet;
    if (name == "paddle-det") return ImageNorm::paddle_det;
    if (name == "paddle-rec") return ImageNorm::paddle_rec;
    throw UsageError("--image-norm", "'" + name + "' is not one of " + kImageNormNames);
}

Tensor image_tensor(const RgbImage& img, ImageNorm norm, int64_t width, int64_t height) {
    const RgbImage sized = width == img.width && height == img.height ? img : resize_rgb(img, width, height);
    static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f}, imagenet_std[3] = {0.229f, 0.224f, 0.225f};
    static const float half[3] = {0.5f, 0.5f, 0.5f}, zero[3] = {0.f, 0.f, 0.f}, one[3] = {1.f, 1.f, 1.f};
    switch (norm) {
        case ImageNorm::paddle_det: return paddle_tensor(sized, imagenet_mean, imagenet_std);
        case ImageNorm::paddle_rec: return paddle_tensor(sized, half, half);
        default: break;
    }
    // RGB order: paddle_tensor writes B, G, R, so swap the first and last planes back.
    const bool imagenet = norm == ImageNorm::imagenet;
    const float rgb_mean[3] = {imagenet_mean[2], imagenet_mean[1], imagenet_mean[0]};
    const float rgb_std[3] = {imagenet_std[2], imagenet_std[1], imagenet_std[0]};
    Tensor bgr = paddle_tensor(sized, imagenet ? rgb_mean : zero, imagenet ? rgb_std : one);
    Tensor out = Tensor::empty(bgr.shape(), DType::f32);
    const int64_t plane = height * width;
    for (int c = 0; c < 3; ++c) {
        const float* src = bgr.data<float>() + (2 - c) * plane;
        std::copy(src, src + plane, out.data<float>() + c * plane);
    }
    return out;
}

}  // namespace tern::vision
