// prune/obs.h (layer-wise OBS / ExactOBS) on small synthetic layers: it
// reaches the exact count of zeros, reconstructs the layer output far better
// than magnitude and at least as well as SparseGPT's column-wise
// approximation, prunes always-zero inputs first at no cost, refuses bad
// input, and agrees with a plain-PyTorch transcription of the OBC paper
// (tests/ref/obs_ref.py): same mask, weights within 1e-4. Also
// prune/layer_hessian.h against X^T X computed here from the raw images.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/tensor_codec.h"
#include "io/io_test_util.h"
#include "io/npy.h"
#include "nn/data/image_dataset.h"
#include "nn/models/lenet.h"
#include "prune/layer_hessian.h"
#include "prune/obs.h"
#include "prune/sparsegpt.h"
#include "prune/sparsity_mask.h"
#include "ref/reference.h"

namespace tern::prune {
namespace {

struct ObsLayer {
    int64_t rows, cols, samples;
    std::vector<float> w, x;  // (rows, cols), (samples, cols)
    std::vector<double> h;    // X^T X
};

// Correlated inputs (x = z A) with per-channel scales over 10x.
ObsLayer obs_make_layer(int64_t rows, int64_t cols, int64_t samples, uint32_t seed, int64_t dead_column = -1) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    ObsLayer l{rows, cols, samples, {}, {}, {}};
    l.w.resize(static_cast<size_t>(rows * cols));
    for (float& v : l.w) v = g(rng);
    std::vector<float> a(static_cast<size_t>(cols * cols));
    for (float& v : a) v = g(rng);
    for (int64_t i = 0; i < cols; ++i) a[static_cast<size_t>(i * cols + i)] += 2.0f;
    std::vector<float> z(static_cast<size_t>(cols));
    l.x.resize(static_cast<size_t>(samples * cols));
    for (int64_t s = 0; s < samples; ++s) {
        for (float& v : z) v = g(rng);
        for (int64_t c = 0; c < cols; ++c) {
            double acc = 0;
            for (int64_t k = 0; k < cols; ++k) acc += z[static_cast<size_t>(k)] * a[static_cast<size_t>(k * cols + c)];
            const double scale = std::pow(10.0, double(c % 7) / 6.0);
            l.x[static_cast<size_t>(s * cols + c)] = c == dead_column ? 0.0f : static_cast<float>(acc * scale / std::sqrt(double(cols)));
        }
    }
    l.h.assign(static_cast<size_t>(cols * cols), 0.0);
    for (int64_t s = 0; s < samples; ++s)
        for (int64_t i = 0; i < cols; ++i)
            for (int64_t j = 0; j < cols; ++j)
                l.h[static_cast<size_t>(i * cols + j)] +=
                    double(l.x[static_cast<size_t>(s * cols + i)]) * l.x[static_cast<size_t>(s * cols + j)];
    return l;
}

// ||X W^T - X W'^T||_F^2 = tr((W - W') H (W - W')^T).
double obs_output_error(const ObsLayer& l, const std::vector<float>& wp) {
    double e = 0;
    std::vector<double> d(static_cast<size_t>(l.cols));
    for (int64_t r = 0; r < l.rows; ++r) {
        for (int64_t c = 0; c < l.cols; ++c)
            d[static_cast<size_t>(c)] = double(l.w[static_cast<size_t>(r * l.cols + c)]) - wp[static_cast<size_t>(r * l.cols + c)];
        for (int64_t i = 0; i < l.cols; ++i)
            for (int64_t j = 0; j < l.cols; ++j)
                e += d[static_cast<size_t>(i)] * l.h[static_cast<size_t>(i * l.cols + j)] * d[static_cast<size_t>(j)];
    }
    return e;
}

std::vector<float> magnitude_pruned(const ObsLayer& l, double s) {
    std::vector<float> mag(l.w.size());
    for (size_t i = 0; i < mag.size(); ++i) mag[i] = std::fabs(l.w[i]);
    const auto m = unstructured_mask(mag, l.rows, l.cols, s, MaskScope::per_matrix);
    std::vector<float> out = l.w;
    for (size_t i = 0; i < out.size(); ++i)
        if (m[i]) out[i] = 0.0f;
    return out;
}

TEST(Obs, ReconstructsFarBetterThanMagnitudeAndNoWorseThanSparseGpt) {
    const ObsLayer l = obs_make_layer(16, 48, 400, 11);
    for (const double s : {0.5, 0.7, 0.9}) {
        SCOPED_TRACE(s);
        const ObsResult o = obs_prune(l.w, l.rows, l.cols, l.h, {.sparsity = s, .damp = 0.01});
        const SparseGptResult g = sparsegpt_prune(l.w, l.rows, l.cols, l.h, {.sparsity = s, .pattern = std::nullopt, .damp = 0.01, .block = 16});
        const double e_obs = obs_output_error(l, o.weights), e_mag = obs_output_error(l, magnitude_pruned(l, s)),
                     e_sgpt = obs_output_error(l, g.weights);
        EXPECT_LT(e_obs, 0.5 * e_mag) << "obs " << e_obs << " magnitude " << e_mag;
        EXPECT_LE(e_obs, 1.02 * e_sgpt) << "obs " << e_obs << " sparsegpt " << e_sgpt;
        // Its own loss is the same quantity on the dampened H (H + lambda I): a little larger.
        EXPECT_GE(o.loss, 0.999 * e_obs);
        EXPECT_LE(o.loss, 2.0 * e_obs);
        int64_t zeros = 0, masked = 0;
        for (size_t i = 0; i < o.weights.size(); ++i) {
            zeros += o.weights[i] == 0.0f;
            masked += o.mask[i];
            if (o.mask[i]) {
                EXPECT_EQ(o.weights[i], 0.0f);
            }
        }
        EXPECT_EQ(masked, std::llround(s * double(l.rows * l.cols)));
        EXPECT_EQ(zeros, masked);
    }
}

TEST(Obs, AnInputThatIsAlwaysZeroIsPrunedFirstAtNoCost) {
    const ObsLayer l = obs_make_layer(8, 20, 200, 12, /*dead_column=*/5);
    const ObsResult o = obs_prune(l.w, l.rows, l.cols, l.h, {.sparsity = 8.0 / 160.0, .damp = 0.01});
    for (int64_t r = 0; r < l.rows; ++r) EXPECT_EQ(o.mask[static_cast<size_t>(r * l.cols + 5)], 1) << "row " << r;
    EXPECT_NEAR(obs_output_error(l, o.weights), 0.0, 1e-6);
}

TEST(Obs, RefusesBadInput) {
    const ObsLayer l = obs_make_layer(4, 8, 32, 13);
    EXPECT_THROW(obs_prune(l.w, l.rows, l.cols, l.h, {.sparsity = 1.0}), UsageError);
    EXPECT_THROW(obs_prune(l.w, l.rows, l.cols, l.h, {.sparsity = -0.1}), UsageError);
    EXPECT_THROW(obs_prune(l.w, l.rows, 7, l.h, {.sparsity = 0.5}), InputError);
    std::vector<double> bad = l.h;
    bad[3] = std::nan("");
    EXPECT_THROW(obs_prune(l.w, l.rows, l.cols, bad, {.sparsity = 0.5}), InputError);
}

constexpr const char* kObsPython = "/usr/bin/python3";
bool torch_available() { return std::system((std::string(kObsPython) + " -c 'import torch, numpy' >/dev/null 2>&1").c_str()) == 0; }

TEST(Obs, MatchesThePyTorchTranscriptionOfOptimalBrainCompression) {
    if (!torch_available()) TERN_MISSING_REFERENCE() << "python3 with torch and numpy not installed";
    const ObsLayer l = obs_make_layer(8, 20, 100, 14);
    testio::TempDir dir;
    write_npy(dir.file("w.npy"), Tensor::from_floats({l.rows, l.cols}, l.w));
    write_npy(dir.file("x.npy"), Tensor::from_floats({l.samples, l.cols}, l.x));
    for (const double s : {0.65}) {  // one run: importing torch takes seconds
        SCOPED_TRACE(s);
        const std::string cmd = std::string(kObsPython) + " " + std::string(TERN_SOURCE_DIR) + "/tests/ref/obs_ref.py " +
                                dir.file("w.npy") + " " + dir.file("x.npy") + " " + dir.file("ref_w.npy") + " " +
                                dir.file("ref_m.npy") + " " + std::to_string(s) + " 0.01";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        const std::vector<float> ref_w = tensor_to_f32(read_npy(dir.file("ref_w.npy")), "ref_w");
        const std::vector<float> ref_m = tensor_to_f32(read_npy(dir.file("ref_m.npy")), "ref_m");
        const ObsResult o = obs_prune(l.w, l.rows, l.cols, l.h, {.sparsity = s, .damp = 0.01});
        ASSERT_EQ(ref_w.size(), o.weights.size());
        double max_abs = 0;
        for (float v : ref_w) max_abs = std::max(max_abs, double(std::fabs(v)));
        int mask_diff = 0;
        for (size_t i = 0; i < ref_w.size(); ++i) {
            mask_diff += (ref_m[i] != 0) != (o.mask[i] != 0);
            EXPECT_NEAR(o.weights[i], ref_w[i], 1e-4 * max_abs) << "element " << i;
        }
        EXPECT_EQ(mask_diff, 0);
    }
}

// Random "images" (not a real dataset): the Hessian only needs inputs.
data::ImageDataset obs_random_images(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> px(static_cast<size_t>(n * 28 * 28));
    for (float& v : px) v = g(rng);
    data::ImageDataset d;
    d.images = Tensor::from_floats({n, 1, 28, 28}, px);
    d.labels.assign(static_cast<size_t>(n), 0);
    d.num_classes = 10;
    d.background = {0.0f};
    return d;
}

TEST(LayerHessian, LinearAndConvInputsMatchTheImagesDirectly) {
    const data::ImageDataset d = obs_random_images(6, 15);
    const float* px = d.images.data<float>();
    {
        nn::models::LeNet300 m(784, 10, 1);
        const LayerHessian h = layer_input_hessian(m, "fc1", d, 6, 4);  // fc1 sees the flattened images
        ASSERT_EQ(h.cols, 784);
        EXPECT_EQ(h.input_rows, 6);
        for (const auto& [i, j] : {std::pair{0, 0}, std::pair{100, 401}, std::pair{783, 5}}) {
            double ref = 0;
            for (int64_t n = 0; n < 6; ++n) ref += double(px[n * 784 + i]) * px[n * 784 + j];
            EXPECT_NEAR(h.h[static_cast<size_t>(i * 784 + j)], ref, 1e-6 * std::fabs(ref) + 1e-9) << i << "," << j;
        }
        EXPECT_THROW(layer_input_hessian(m, "fc1", d, 6), Error);  // a recorder is attached already
        EXPECT_THROW(layer_input_hessian(m, "fc9", d, 6), Error);
    }
    {
        nn::models::LeNet5 m(1, 10, false, 1);
        const LayerHessian h = layer_input_hessian(m, "conv1", d, 6);  // 5x5 patches, pad 2, 28x28 outputs
        ASSERT_EQ(h.cols, 25);
        EXPECT_EQ(h.input_rows, 6 * 28 * 28);
        // Taps (ky, kx) = (0, 0) and (2, 3) of every output position, zero outside the image.
        auto tap = [&](int64_t n, int64_t oy, int64_t ox, int64_t ky, int64_t kx) -> double {
            const int64_t y = oy + ky - 2, x = ox + kx - 2;
            return y < 0 || y >= 28 || x < 0 || x >= 28 ? 0.0 : px[n * 784 + y * 28 + x];
        };
        double ref = 0;
        for (int64_t n = 0; n < 6; ++n)
            for (int64_t oy = 0; oy < 28; ++oy)
                for (int64_t ox = 0; ox < 28; ++ox) ref += tap(n, oy, ox, 0, 0) * tap(n, oy, ox, 2, 3);
        EXPECT_NEAR(h.h[static_cast<size_t>(0 * 25 + 2 * 5 + 3)], ref, 1e-6 * std::fabs(ref) + 1e-6);
    }
}

}  // namespace
}  // namespace tern::prune
