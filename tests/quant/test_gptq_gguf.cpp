// GPTQ onto the GGUF block grids (quant/gptq.h, GgufBlockGrid): per block
// type, on one Linear with correlated inputs, a lower output error than the
// format's own round to nearest on held-out inputs, and packed blocks that
// the format's dequantizer decodes to exactly GPTQ's values. The block codecs
// (formats/gguf_block_codes.h) read and write codes without touching scales.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "formats/format.h"
#include "formats/gguf_block_codes.h"
#include "formats/tensor_codec.h"
#include "quant/gptq.h"
#include "quant/quant_test_util.h"

namespace tern::quant {
namespace {

using quanttest::gram;
using quanttest::random_weights;

constexpr DType kGrids[] = {DType::q4_0, DType::q4_1, DType::q2_k, DType::q3_k,
                            DType::q4_k, DType::q5_k, DType::q6_k};

// Inputs from a low-rank latent plus noise, every 29th channel an outlier: a
// Hessian with the correlations GPTQ exploits.
std::vector<float> latent_inputs(int64_t samples, int64_t cols, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t latent = 16;
    std::vector<float> mix(static_cast<size_t>(latent * cols));
    for (auto& v : mix) v = normal(rng) * 0.5f;
    std::vector<float> x(static_cast<size_t>(samples * cols));
    std::vector<float> z(static_cast<size_t>(latent));
    for (int64_t s = 0; s < samples; ++s) {
        for (auto& v : z) v = normal(rng);
        for (int64_t c = 0; c < cols; ++c) {
            float acc = 0.3f * normal(rng);
            for (int64_t l = 0; l < latent; ++l) acc += z[static_cast<size_t>(l)] * mix[static_cast<size_t>(l * cols + c)];
            x[static_cast<size_t>(s * cols + c)] = c % 29 == 3 ? 6.0f * acc : acc;
        }
    }
    return x;
}

std::vector<float> gptq_gguf_decode(const GptqResult& g, DType type) {
    Tensor t = Tensor::zeros({g.rows, g.cols}, type);
    EXPECT_EQ(t.nbytes(), g.blocks.size());
    std::copy(g.blocks.begin(), g.blocks.end(), t.raw_data());
    return tensor_to_f32(t, "gptq");
}

TEST(GgufBlockCodec, CodesRoundTripUnderTheFittedScales) {
    const std::vector<float> w = random_weights(1, 256, 21);
    for (DType type : kGrids) {
        SCOPED_TRACE(dtype_name(type));
        const GgufBlockCodec* c = gguf_block_codec(type);
        ASSERT_NE(c, nullptr);
        std::vector<uint8_t> block(c->block_bytes), copy;
        std::vector<uint8_t> codes(static_cast<size_t>(c->block)), zero(codes.size(), 0), again(codes.size());
        c->quantize(w.data(), block.data());
        c->get_codes(block.data(), codes.data());
        for (uint8_t q : codes) ASSERT_LE(q, c->max_code);
        copy = block;
        c->set_codes(copy.data(), zero.data());
        EXPECT_NE(copy, block);
        c->set_codes(copy.data(), codes.data());
        EXPECT_EQ(copy, block);  // scales untouched, codes back in place
        c->get_codes(copy.data(), again.data());
        EXPECT_EQ(again, codes);
    }
    EXPECT_EQ(gguf_block_codec(DType::q8_0), nullptr);
}

TEST(GptqGguf, BeatsTheFormatsRoundToNearestAndPacksWhatItComputed) {
    const int64_t rows = 32, cols = 256, samples = 768;
    const std::vector<float> w = random_weights(rows, cols, 31);
    const std::vector<float> all = latent_inputs(2 * samples, cols, 32);
    const std::vector<double> calib = gram({all.begin(), all.begin() + samples * cols}, samples, cols);
    const std::vector<double> test = gram({all.begin() + samples * cols, all.end()}, samples, cols);
    for (DType type : kGrids) {
        SCOPED_TRACE(dtype_name(type));
        const GgufBlockGrid grid{.type = type};
        const GptqResult rtn = rtn_group_quantize(w, rows, cols, grid);
        const GptqResult g = gptq_quantize(w, rows, cols, calib, grid);
        // Round to nearest is the format's own quantizer, bit for bit.
        EXPECT_EQ(rtn.dequantized, tensor_to_f32(quantize_tensor_rtn(Tensor::from_floats({rows, cols}, w), *format_for_dtype(type), "w"), "w"));
        EXPECT_EQ(gptq_gguf_decode(rtn, type), rtn.dequantized);
        // The packed tensor is exactly what GPTQ optimised.
        EXPECT_EQ(gptq_gguf_decode(g, type), g.dequantized);
        const double e_rtn = relative_output_error(w, rtn.dequantized, rows, cols, test);
        const double e_gptq = relative_output_error(w, g.dequantized, rows, cols, test);
        EXPECT_LT(e_gptq, 0.9 * e_rtn) << "rtn " << e_rtn << " gptq " << e_gptq;
        std::printf("[ gptq ] %-4s held-out relative output error: rtn %.6f, gptq %.6f\n",
                    std::string(dtype_name(type)).c_str(), e_rtn, e_gptq);
    }
}

TEST(GptqGguf, ActOrderKeepsTheBlocksStandard) {
    const int64_t rows = 16, cols = 256, samples = 512;
    const std::vector<float> w = random_weights(rows, cols, 41);
    const std::vector<double> h = gram(latent_inputs(samples, cols, 42), samples, cols);
    for (DType type : {DType::q4_0, DType::q3_k}) {
        SCOPED_TRACE(dtype_name(type));
        const GptqResult g = gptq_quantize(w, rows, cols, h, GgufBlockGrid{.type = type}, {.act_order = true});
        EXPECT_EQ(gptq_gguf_decode(g, type), g.dequantized);
        EXPECT_LT(relative_output_error(w, g.dequantized, rows, cols, h),
                  relative_output_error(w, rtn_group_quantize(w, rows, cols, GgufBlockGrid{.type = type}).dequantized,
                                        rows, cols, h));
    }
}

TEST(GptqGguf, RefusesShapesAndTypesTheBlocksCannotHold) {
    const std::vector<float> w = random_weights(2, 96, 51);
    const std::vector<double> h = gram(latent_inputs(64, 96, 52), 64, 96);
    EXPECT_THROW(gptq_quantize(w, 2, 96, h, GgufBlockGrid{.type = DType::q4_k}), InputError);  // 96 % 256
    EXPECT_THROW(gptq_quantize(w, 2, 96, h, GgufBlockGrid{.type = DType::q8_0}), InputError);
    EXPECT_NO_THROW(gptq_quantize(w, 2, 96, h, GgufBlockGrid{.type = DType::q4_0}));
}

}  // namespace
}  // namespace tern::quant
