#pragma once
// Random weights and exact Gram matrices for the quantization tests.
#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor.h"

namespace tern::quanttest {

// rows x cols weights drawn from N(0, stddev²), reproducible from the seed.
inline std::vector<float> random_weights(int64_t rows, int64_t cols, uint64_t seed, float stddev = 0.05f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, stddev);
    std::vector<float> w(static_cast<size_t>(rows * cols));
    for (auto& v : w) v = normal(rng);
    return w;
}

inline Tensor random_tensor(const Shape& shape, uint64_t seed, float stddev = 0.02f) {
    return Tensor::from_floats(shape, random_weights(shape_numel(shape), 1, seed, stddev));
}

// X^T X of x (samples, cols), summed in f64.
inline std::vector<double> gram(const std::vector<float>& x, int64_t samples, int64_t cols) {
    std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
    for (int64_t s = 0; s < samples; ++s) {
        const float* xs = x.data() + s * cols;
        for (int64_t i = 0; i < cols; ++i)
            for (int64_t j = 0; j < cols; ++j) h[static_cast<size_t>(i * cols + j)] += double(xs[i]) * double(xs[j]);
    }
    return h;
}

}  // namespace tern::quanttest
