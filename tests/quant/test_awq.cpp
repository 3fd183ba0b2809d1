// AWQ (src/quant/awq.cpp): the scale and clipping searches against a
// plain-PyTorch transcription of the paper's code that works from the
// calibration inputs themselves (tests/ref/awq_ref.py), and the gain over
// round to nearest on held-out inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "nn/torch_ref.h"
#include "quant/awq.h"
#include "quant/quant_test_util.h"

namespace tern::quant {
namespace {

using quanttest::gram;

// Inputs whose channels differ in scale by up to 30x (the activation outliers
// AWQ is about), with correlations between channels.
std::vector<float> outlier_inputs(int64_t samples, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> gain(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) gain[static_cast<size_t>(c)] = c % 17 == 3 ? 30.0f : 0.5f + std::abs(normal(rng));
    std::vector<float> x(static_cast<size_t>(samples * cols));
    for (int64_t s = 0; s < samples; ++s) {
        const float shared = normal(rng);
        for (int64_t c = 0; c < cols; ++c)
            x[static_cast<size_t>(s * cols + c)] = gain[static_cast<size_t>(c)] * (normal(rng) + 0.3f * shared);
    }
    return x;
}

std::vector<double> mean_abs(const std::vector<float>& x, int64_t samples, int64_t cols) {
    std::vector<double> m(static_cast<size_t>(cols), 0.0);
    for (int64_t s = 0; s < samples; ++s)
        for (int64_t c = 0; c < cols; ++c) m[static_cast<size_t>(c)] += std::abs(double(x[static_cast<size_t>(s * cols + c)]));
    for (auto& v : m) v /= double(samples);
    return m;
}

struct Awq {
    AwqScaleSearch scales;
    std::vector<std::vector<float>> q;  // final weights in the original input space
    std::vector<std::vector<float>> ratios;
};

Awq run_awq(const std::vector<std::vector<float>>& ws, int64_t rows, int64_t cols, const std::vector<float>& x,
            int64_t samples, const IntGroupGrid& grid) {
    const std::vector<double> h = gram(x, samples, cols);
    std::vector<WeightView> views;
    for (const auto& w : ws) views.push_back({w, rows, cols});
    Awq a;
    a.scales = awq_search_scales(views, mean_abs(x, samples, cols), h, group_quantizer(grid));
    const std::vector<double> hs = scale_hessian(h, a.scales.scales);
    for (const auto& v : views) {
        const std::vector<float> scaled = scale_columns(v, a.scales.scales);
        const AwqClip clip = awq_search_clip({scaled, rows, cols}, hs, group_quantizer(grid));
        std::vector<float> q = rtn_group_quantize(clip.clipped, rows, cols, grid).dequantized;
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) q[static_cast<size_t>(r * cols + c)] /= a.scales.scales[static_cast<size_t>(c)];
        a.q.push_back(std::move(q));
        a.ratios.push_back(clip.ratios);
    }
    return a;
}

TEST(AwqTorch, ScalesClipsAndWeightsAgreeWithThePaperTranscription) {
    TERN_REQUIRE_REFERENCE(nn::test::torch_reference());
    struct Case {
        std::string name;
        int64_t rows, cols, samples, n_linears;
        int bits;
        int64_t group;
    };
    const std::vector<Case> cases = {{"qkv_w3_g64", 32, 128, 512, 3, 3, 64}, {"down_w4_g32", 48, 128, 512, 1, 4, 32}};
    const auto dir = std::filesystem::temp_directory_path() / ("tern_awq_ref_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    nlohmann::json header;
    header["cases"] = nlohmann::json::array();
    std::vector<std::pair<std::string, Tensor>> tensors;
    std::vector<std::vector<std::vector<float>>> ws(cases.size());
    std::vector<std::vector<float>> xs;
    uint64_t seed = 21;
    for (size_t k = 0; k < cases.size(); ++k) {
        const Case& c = cases[k];
        header["cases"].push_back({{"name", c.name}, {"n_linears", c.n_linears}, {"bits", c.bits}, {"group", c.group}});
        xs.push_back(outlier_inputs(c.samples, c.cols, seed++));
        tensors.emplace_back(c.name + "/X", Tensor::from_floats({c.samples, c.cols}, xs.back()));
        for (int64_t i = 0; i < c.n_linears; ++i) {
            ws[k].push_back(quanttest::random_weights(c.rows, c.cols, seed++));
            tensors.emplace_back(c.name + "/W" + std::to_string(i), Tensor::from_floats({c.rows, c.cols}, ws[k].back()));
        }
    }
    const std::string in = (dir / "in.bin").string(), outp = (dir / "out.bin").string();
    nn::test::write_bundle(in, header, tensors);
    const std::string cmd = "cd " + std::string(TERN_SOURCE_DIR) + "/tests/ref && /usr/bin/python3 awq_ref.py " + in + " " + outp;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto ref = nn::test::read_bundle(outp);
    std::filesystem::remove_all(dir);

    for (size_t k = 0; k < cases.size(); ++k) {
        const Case& c = cases[k];
        SCOPED_TRACE(c.name);
        const Awq a = run_awq(ws[k], c.rows, c.cols, xs[k], c.samples, {.bits = c.bits, .group = c.group});
        EXPECT_NEAR(a.scales.alpha, ref.at(c.name + "/alpha").to_floats()[0], 1e-6);  // the bundle holds f32
        const std::vector<float> s = ref.at(c.name + "/scales").to_floats();
        for (int64_t j = 0; j < c.cols; ++j) EXPECT_NEAR(a.scales.scales[static_cast<size_t>(j)], s[static_cast<size_t>(j)], 1e-5f * s[static_cast<size_t>(j)]);
        int64_t same = 0, total = 0, same_ratio = 0, groups = 0;
        for (int64_t i = 0; i < c.n_linears; ++i) {
            const std::vector<float> q = ref.at(c.name + "/Q" + std::to_string(i)).to_floats();
            const std::vector<float> ratio = ref.at(c.name + "/ratio" + std::to_string(i)).to_floats();
            for (size_t e = 0; e < q.size(); ++e, ++total)
                same += std::abs(a.q[static_cast<size_t>(i)][e] - q[e]) <= 1e-5f * std::max(1e-3f, std::abs(q[e]));
            for (size_t e = 0; e < ratio.size(); ++e, ++groups) same_ratio += std::abs(a.ratios[static_cast<size_t>(i)][e] - ratio[e]) < 1e-6f;
        }
        EXPECT_GE(double(same) / double(total), 0.99) << same << " of " << total;
        EXPECT_GE(double(same_ratio) / double(groups), 0.99) << same_ratio << " of " << groups;
        std::printf("[ awq ] %s: alpha %.2f (PyTorch %.2f), %.2f %% of weights and %.2f %% of clip ratios as PyTorch's\n",
                    c.name.c_str(), a.scales.alpha, double(ref.at(c.name + "/alpha").to_floats()[0]), 100.0 * same / total,
                    100.0 * same_ratio / groups);
    }
}

TEST(Awq, LowersTheOutputErrorOnHeldOutInputs) {
    const int64_t rows = 64, cols = 256, samples = 1024;
    const std::vector<float> all = outlier_inputs(2 * samples, cols, 9);
    const std::vector<float> calib(all.begin(), all.begin() + samples * cols);
    const std::vector<float> held(all.begin() + samples * cols, all.end());
    const std::vector<double> h_test = gram(held, samples, cols);
    const std::vector<float> w = quanttest::random_weights(rows, cols, 10);
    for (int bits : {3, 4}) {
        SCOPED_TRACE(bits);
        const IntGroupGrid grid{.bits = bits, .group = 128};
        const Awq a = run_awq({w}, rows, cols, calib, samples, grid);
        const double e_awq = relative_output_error(w, a.q[0], rows, cols, h_test);
        const double e_rtn = relative_output_error(w, rtn_group_quantize(w, rows, cols, grid).dequantized, rows, cols, h_test);
        EXPECT_GT(a.scales.alpha, 0.0);
        EXPECT_LT(e_awq, 0.8 * e_rtn) << "rtn " << e_rtn << " awq " << e_awq;
        std::printf("[ awq ] W%d g128, held-out relative output error: rtn %.5f, awq %.5f (alpha %.2f)\n", bits, e_rtn,
                    e_awq, a.scales.alpha);
    }
}

TEST(Awq, BadStatisticsAreRefused) {
    const std::vector<float> w = quanttest::random_weights(4, 64, 1);
    const WeightView v{w, 4, 64};
    std::vector<double> h(64 * 64, 0.0), m(64, 1.0);
    for (int i = 0; i < 64; ++i) h[static_cast<size_t>(i * 64 + i)] = 1;
    EXPECT_NO_THROW(awq_search_scales({&v, 1}, m, h, group_quantizer(IntGroupGrid{.bits = 4, .group = 32})));
    m[3] = NAN;
    EXPECT_THROW(awq_search_scales({&v, 1}, m, h, group_quantizer(IntGroupGrid{.bits = 4, .group = 32})), InputError);
    m[3] = 1;
    h[5] = INFINITY;
    EXPECT_THROW(awq_search_scales({&v, 1}, m, h, group_quantizer(IntGroupGrid{.bits = 4, .group = 32})), InputError);
    EXPECT_THROW(awq_search_scales({&v, 1}, std::vector<double>(63, 1.0), h, group_quantizer(IntGroupGrid{.bits = 4, .group = 32})), InputError);
}

}  // namespace
}  // namespace tern::quant
