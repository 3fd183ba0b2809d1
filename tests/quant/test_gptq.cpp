// GPTQ (src/quant/gptq.cpp): against a plain-PyTorch transcription of the
// paper (tests/ref/gptq_ref.py), against round to nearest on held-out inputs,
// and on its edge cases.
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
#include "formats/format.h"
#include "nn/torch_ref.h"
#include "quant/gptq.h"
#include "quant/quant_test_util.h"

namespace tern::quant {
namespace {

using quanttest::gram;
using quanttest::random_weights;

// Inputs with correlated channels and a few outlier channels, like the
// activations entering an LLM's Linear.
std::vector<float> correlated_inputs(int64_t samples, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t latent = cols / 4;
    std::vector<float> mix(static_cast<size_t>(latent * cols));
    for (auto& v : mix) v = normal(rng) * 0.5f;
    std::vector<float> x(static_cast<size_t>(samples * cols));
    std::vector<float> z(static_cast<size_t>(latent));
    for (int64_t s = 0; s < samples; ++s) {
        for (auto& v : z) v = normal(rng);
        for (int64_t c = 0; c < cols; ++c) {
            float acc = 0.3f * normal(rng);
            for (int64_t l = 0; l < latent; ++l) acc += z[static_cast<size_t>(l)] * mix[static_cast<size_t>(l * cols + c)];
            if (c % 37 == 5) acc *= 8.0f;  // outlier channels
            x[static_cast<size_t>(s * cols + c)] = acc;
        }
    }
    return x;
}

struct GptqCase {
    std::string name;
    int64_t rows, cols, samples;
    int bits;
    int64_t group, block;
    bool act_order;
};

const std::vector<GptqCase>& torch_cases() {
    static const std::vector<GptqCase> cases = {
        {"w3_g128", 48, 256, 1024, 3, 128, 128, false},
        {"w4_g32_block128", 40, 256, 768, 4, 32, 128, false},
        {"w3_g64_act_order", 32, 192, 768, 3, 64, 64, true},
        {"w2_g128_block32", 24, 256, 1024, 2, 128, 32, false},
    };
    return cases;
}

// One python run for every case (importing torch takes seconds).
const std::map<std::string, Tensor>& torch_gptq() {
    static const std::map<std::string, Tensor> out = [] {
        std::map<std::string, Tensor> r;
        const auto dir = std::filesystem::temp_directory_path() / ("tern_gptq_ref_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir);
        nlohmann::json header;
        header["cases"] = nlohmann::json::array();
        std::vector<std::pair<std::string, Tensor>> tensors;
        uint64_t seed = 11;
        for (const auto& c : torch_cases()) {
            header["cases"].push_back({{"name", c.name},
                                       {"bits", c.bits},
                                       {"group", c.group},
                                       {"damp", 0.01},
                                       {"block", c.block},
                                       {"act_order", c.act_order}});
            tensors.emplace_back(c.name + "/W", Tensor::from_floats({c.rows, c.cols}, random_weights(c.rows, c.cols, seed++)));
            tensors.emplace_back(c.name + "/X",
                                 Tensor::from_floats({c.samples, c.cols}, correlated_inputs(c.samples, c.cols, seed++)));
        }
        const std::string in = (dir / "in.bin").string(), outp = (dir / "out.bin").string();
        nn::test::write_bundle(in, header, tensors);
        const std::string cmd = "cd " + std::string(TERN_SOURCE_DIR) + "/tests/ref && /usr/bin/python3 gptq_ref.py " +
                                in + " " + outp;
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("gptq_ref.py failed: " + cmd);
        for (auto& [k, t] : tensors) r.emplace(k, std::move(t));
        for (auto& [k, t] : nn::test::read_bundle(outp)) r.emplace(k, std::move(t));
        std::filesystem::remove_all(dir);
        return r;
    }();
    return out;
}

TEST(GptqTorch, CodesAgreeWithThePaperTranscription) {
    TERN_REQUIRE_REFERENCE(nn::test::torch_reference());
    const auto& ref = torch_gptq();
    for (const auto& c : torch_cases()) {
        SCOPED_TRACE(c.name);
        const std::vector<float> w = ref.at(c.name + "/W").to_floats();
        const std::vector<float> x = ref.at(c.name + "/X").to_floats();
        const std::vector<double> h = gram(x, c.samples, c.cols);
        const GptqResult g =
            gptq_quantize(w, c.rows, c.cols, h, {.bits = c.bits, .group = c.group},
                          {.damp = 0.01, .block = c.block, .act_order = c.act_order});
        const std::vector<float> codes = ref.at(c.name + "/codes").to_floats();
        const std::vector<float> q = ref.at(c.name + "/Q").to_floats();
        const std::vector<float> rtn_ref = ref.at(c.name + "/rtn").to_floats();
        const GptqResult rtn = rtn_group_quantize(w, c.rows, c.cols, {.bits = c.bits, .group = c.group});
        int64_t same = 0, same_value = 0;
        for (size_t i = 0; i < codes.size(); ++i) {
            same += g.codes[i] == static_cast<int>(codes[i]);
            same_value += std::abs(g.dequantized[i] - q[i]) <= 1e-6f * std::max(1.0f, std::abs(q[i]));
            ASSERT_EQ(rtn.dequantized[i], rtn_ref[i]) << "RTN differs at " << i;
        }
        const double n = static_cast<double>(codes.size());
        EXPECT_GE(same / n, 0.99) << same << " of " << n << " codes agree";
        EXPECT_GE(same_value / n, 0.99);
        // GPTQ is not RTN: it moved a good share of the codes.
        int64_t moved = 0;
        for (size_t i = 0; i < codes.size(); ++i) moved += g.codes[i] != rtn.codes[i];
        EXPECT_GT(moved / n, 0.05);
        std::printf("[ gptq ] %s: %.2f %% of codes as PyTorch's, %.2f %% of codes differ from RTN's\n", c.name.c_str(),
                    100.0 * same / n, 100.0 * moved / n);
    }
}

TEST(Gptq, LowersTheOutputErrorOnHeldOutInputs) {
    const int64_t rows = 64, cols = 256;
    const std::vector<float> w = random_weights(rows, cols, 3);
    const std::vector<double> calib = gram(correlated_inputs(2048, cols, 4), 2048, cols);
    // Held out: other samples of the same distribution (same mixing seed would
    // be the same channels; a new seed draws a new distribution, so reuse the
    // calibration generator's mixing by drawing more samples and keeping the tail).
    const std::vector<float> all = correlated_inputs(4096, cols, 4);
    const std::vector<float> tail(all.begin() + 2048 * cols, all.end());
    const std::vector<double> test = gram(tail, 2048, cols);
    for (int bits : {2, 3, 4}) {
        SCOPED_TRACE(bits);
        const IntGroupGrid grid{.bits = bits, .group = 128};
        const double e_rtn = relative_output_error(w, rtn_group_quantize(w, rows, cols, grid).dequantized, rows, cols, test);
        const double e_gptq =
            relative_output_error(w, gptq_quantize(w, rows, cols, calib, grid).dequantized, rows, cols, test);
        EXPECT_LT(e_gptq, 0.7 * e_rtn) << "rtn " << e_rtn << " gptq " << e_gptq;
        std::printf("[ gptq ] W%d g128, held-out relative output error: rtn %.5f, gptq %.5f\n", bits, e_rtn, e_gptq);
    }
}

TEST(Gptq, RtnGridIsTheStoredFormatsGrid) {
    const int64_t rows = 16, cols = 256;
    const std::vector<float> w = random_weights(rows, cols, 5);
    for (const char* name : {"int4_asym_g128", "int3_asym_g32", "int2_asym_g32", "int4_asym_g32"}) {
        SCOPED_TRACE(name);
        const FormatDescriptor& f = format_by_name(name);
        const std::string n(name);
        const int bits = n[3] - '0';
        const int64_t group = std::stoll(n.substr(n.rfind('g') + 1));
        const std::vector<float> expect = round_trip(f, w);
        const GptqResult r = rtn_group_quantize(w, rows, cols, {.bits = bits, .group = group});
        ASSERT_EQ(r.dequantized, expect);
    }
}

TEST(Gptq, DiagonalHessianIsRoundToNearest) {
    // Uncorrelated inputs: no error can be compensated, so GPTQ is RTN.
    const int64_t rows = 8, cols = 128;
    const std::vector<float> w = random_weights(rows, cols, 6);
    std::vector<double> h(static_cast<size_t>(cols * cols), 0.0);
    for (int64_t i = 0; i < cols; ++i) h[static_cast<size_t>(i * cols + i)] = 1.0 + 0.01 * double(i);
    const GptqResult g = gptq_quantize(w, rows, cols, h, {.bits = 3, .group = 32}, {.damp = 0});
    EXPECT_EQ(g.dequantized, rtn_group_quantize(w, rows, cols, {.bits = 3, .group = 32}).dequantized);
}

TEST(Gptq, DeadInputsAreZeroedAndIndefiniteHessiansRefused) {
    const int64_t rows = 4, cols = 64;
    const std::vector<float> w = random_weights(rows, cols, 7);
    const std::vector<double> x = [&] {
        std::vector<double> h = gram(correlated_inputs(256, cols, 8), 256, cols);
        for (int64_t j = 0; j < cols; ++j) h[static_cast<size_t>(3 * cols + j)] = h[static_cast<size_t>(j * cols + 3)] = 0;
        return h;
    }();
    const GptqResult g = gptq_quantize(w, rows, cols, x, {.bits = 4, .group = 32});
    EXPECT_EQ(g.dead_inputs, 1);
    for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(g.dequantized[static_cast<size_t>(r * cols + 3)], 0.0f);

    std::vector<double> neg(static_cast<size_t>(cols * cols), 0.0);
    for (int64_t i = 0; i < cols; ++i) neg[static_cast<size_t>(i * cols + i)] = -1.0;
    EXPECT_THROW(gptq_quantize(w, rows, cols, neg, {.bits = 4, .group = 32}), InputError);
    std::vector<float> bad = w;
    bad[5] = NAN;
    EXPECT_THROW(gptq_quantize(bad, rows, cols, x, {.bits = 4, .group = 32}), InputError);
    EXPECT_THROW(gptq_quantize(w, rows, cols, x, {.bits = 4, .group = 48}), InputError);
}

}  // namespace
}  // namespace tern::quant
