#pragma once
// Shared by the classifier-export tests: the committed Fashion-MNIST models,
// test images, and the prediction / logit comparisons.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/data/image_dataset.h"

namespace tern::testinterop {

inline const char* kCommittedModels[] = {"fmnist-lenet300", "fmnist-lenet5", "fmnist-mobilenetv2_tiny"};

inline std::string model_path(const std::string& name) {
    return std::string(TERN_SOURCE_DIR) + "/models/" + name + ".safetensors";
}

inline bool have_fashion_mnist() {
    return std::filesystem::exists(data::default_fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
}

// Rows 0..n-1 of the test split (all of it for n <= 0).
inline data::ImageDataset fashion_test_images(int64_t n) {
    data::ImageDataset ds = data::load_fashion_mnist("t10k");
    if (n <= 0 || n >= ds.size()) return ds;
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) rows[static_cast<size_t>(i)] = i;
    return data::subset(ds, rows);
}

// Argmax per row of (N, classes) logits.
inline std::vector<int> predictions(const Tensor& logits) {
    const Tensor c = logits.contiguous();
    const int64_t n = c.dim(0), k = c.dim(1);
    std::vector<int> out(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const float* row = c.data<float>() + i * k;
        out[static_cast<size_t>(i)] = static_cast<int>(std::max_element(row, row + k) - row);
    }
    return out;
}

inline double accuracy(const std::vector<int>& pred, const std::vector<int32_t>& labels) {
    int64_t right = 0;
    for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == labels[i];
    return pred.empty() ? 0 : static_cast<double>(right) / static_cast<double>(pred.size());
}

// Largest |a - b| / (1 + |b|) over two same-shaped f32 tensors.
inline double max_scaled_diff(const Tensor& a, const Tensor& b) {
    const Tensor ca = a.contiguous(), cb = b.contiguous();
    double worst = 0;
    for (int64_t i = 0; i < cb.numel(); ++i) {
        const double x = ca.data<float>()[i], y = cb.data<float>()[i];
        worst = std::max(worst, std::abs(x - y) / (1.0 + std::abs(y)));
    }
    return worst;
}

}  // namespace tern::testinterop
