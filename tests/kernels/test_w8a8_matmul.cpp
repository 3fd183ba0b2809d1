// w8a8_matmul against its scalar definition on every gemm_q8 variant this CPU
// runs (bit-exact: same fp32 operations in the same order), the activation
// quantizer on hand-checked values, and the w8a8 storage codec's row scales.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/w8a8_block.h"
#include "kernels/w8a8/w8a8_matmul.h"

namespace tern {
namespace {

struct W8a8MatmulCase {
    int64_t m, n, k;
    float act_scale;
};

TEST(W8A8Matmul, EveryVariantMatchesTheScalarReferenceBitForBit) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> code(-127, 127);
    std::normal_distribution<float> act(0.0f, 2.0f);
    ThreadPool pool(2);
    for (const W8a8MatmulCase c : {W8a8MatmulCase{1, 40, 128, 0}, W8a8MatmulCase{5, 33, 256, 0}, W8a8MatmulCase{37, 70, 384, 0}, W8a8MatmulCase{13, 64, 128, 0.03f},
                         W8a8MatmulCase{64, 96, 256, 0.05f}}) {
        std::vector<int8_t> w(static_cast<size_t>(c.n * c.k));
        for (auto& v : w) v = static_cast<int8_t>(code(rng));
        std::vector<float> d(static_cast<size_t>(c.n));
        for (auto& v : d) v = 0.001f + 0.01f * std::abs(act(rng));
        std::vector<float> x(static_cast<size_t>(c.m * c.k));
        for (auto& v : x) v = act(rng);
        x[3] = 40.0f;  // an outlier channel, clamped under a static scale
        std::vector<float> want(static_cast<size_t>(c.m * c.n));
        w8a8_matmul_reference(w.data(), d.data(), c.act_scale, x.data(), c.m, c.n, c.k, want.data());
        for (const GemmQ8Kernel* kernel : gemm_q8_variants()) {
            W8A8Matrix packed(*kernel, w.data(), d, c.act_scale, c.n, c.k);
            std::vector<float> got(want.size() + 4, 12345.0f);  // canary past the end
            W8A8Scratch scratch;
            w8a8_matmul(packed, x.data(), c.m, got.data(), scratch, pool);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0)
                    << kernel->name << " m" << c.m << " n" << c.n << " k" << c.k << " at " << i << ": " << got[i]
                    << " vs " << want[i];
            for (size_t i = want.size(); i < got.size(); ++i) EXPECT_EQ(got[i], 12345.0f) << kernel->name;
        }
    }
}

TEST(W8A8Matmul, ReferenceIsCloseToTheFloatProduct) {
    // The int8 x int8 product stays within a few quantization steps of x @ W^T.
    std::mt19937 rng(11);
    std::normal_distribution<float> g(0.0f, 1.0f);
    const int64_t m = 4, n = 16, k = 256;
    std::vector<float> wf(static_cast<size_t>(n * k)), x(static_cast<size_t>(m * k));
    for (auto& v : wf) v = g(rng);
    for (auto& v : x) v = g(rng);
    std::vector<uint8_t> blocks(static_cast<size_t>(n * k / kW8A8Group) * sizeof(W8A8Block));
    for (int64_t r = 0; r < n; ++r)
        w8a8_quantize_row(wf.data() + r * k, blocks.data() + r * (k / kW8A8Group) * sizeof(W8A8Block), k, 0.0f);
    const W8A8Unpacked u = unpack_w8a8(blocks.data(), n, k, "w");
    std::vector<float> y(static_cast<size_t>(m * n));
    w8a8_matmul_reference(u.codes.data(), u.row_scales.data(), 0.0f, x.data(), m, n, k, y.data());
    for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) {
            double exact = 0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
                exact += double(x[r * k + p]) * wf[j * k + p];
                mag += std::fabs(double(x[r * k + p]) * wf[j * k + p]);
            }
            EXPECT_NEAR(y[r * n + j], exact, 0.02 * mag) << r << "," << j;
        }
}

TEST(W8A8Matmul, ActivationRowQuantizer) {
    // Dynamic: s = max|x| / 127, codes rounded half to even, stored + 128; NaN -> 0.
    // max 31.75: s = 0.25 exactly, so x / s has no rounding of its own.
    const float x[4] = {31.75f, -15.875f, 0.125f, std::numeric_limits<float>::quiet_NaN()};
    uint8_t q[4];
    float s = 0;
    w8a8_quantize_activation_row(x, 4, 0.0f, q, &s);
    EXPECT_EQ(s, 0.25f);
    EXPECT_EQ(q[0], 128 + 127);
    EXPECT_EQ(q[1], 128 - 64);  // -63.5 rounds to even
    EXPECT_EQ(q[2], 128 + 0);   // 0.5 rounds to even
    EXPECT_EQ(q[3], 128);
    // Static: the given scale, values past it clamp to +-127.
    const float y[2] = {10.0f, -10.0f};
    w8a8_quantize_activation_row(y, 2, 0.01f, q, &s);
    EXPECT_EQ(s, 0.01f);
    EXPECT_EQ(q[0], 255);
    EXPECT_EQ(q[1], 1);
    // All zeros: scale 0, codes 0 (the output row is 0, not NaN).
    const float z[3] = {0, 0, 0};
    w8a8_quantize_activation_row(z, 3, 0.0f, q, &s);
    EXPECT_EQ(s, 0.0f);
    EXPECT_EQ(q[0], 128);
}

TEST(W8A8Matmul, EveryActivationQuantizerVariantMatchesTheScalarDefinition) {
    std::mt19937 rng(3);
    std::normal_distribution<float> g(0.0f, 3.0f);
    for (const int64_t k : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{100}, int64_t{768}}) {
        std::vector<float> x(static_cast<size_t>(k));
        for (auto& v : x) v = g(rng);
        x[0] = 0.5f * (k % 3);  // exact ties and zeros
        if (k > 20) x[17] = std::numeric_limits<float>::quiet_NaN(), x[18] = -0.25f, x[19] = 1e30f;
        for (const float act_scale : {0.0f, 0.02f}) {
            std::vector<uint8_t> want(static_cast<size_t>(k));
            float want_s = -1;
            w8a8_quantize_activation_row(x.data(), k, act_scale, want.data(), &want_s);
            for (const W8A8ActKernel* kern : w8a8_act_variants()) {
                std::vector<uint8_t> got(static_cast<size_t>(k) + 8, 0xEE);
                float got_s = -2;
                kern->quantize_row(x.data(), k, act_scale, got.data(), &got_s);
                EXPECT_EQ(std::memcmp(&got_s, &want_s, 4), 0) << kern->name << " k" << k;
                EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size()), 0) << kern->name << " k" << k;
                for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], 0xEE) << kern->name;
            }
        }
    }
}

TEST(W8A8Storage, OneScalePerRowAndDamagedBlocksAreRefused) {
    std::vector<float> row(256);
    for (size_t i = 0; i < row.size(); ++i) row[i] = static_cast<float>(i) * (i % 2 ? -0.01f : 0.01f);
    std::vector<uint8_t> blocks(2 * sizeof(W8A8Block));
    w8a8_quantize_row(row.data(), blocks.data(), 256, 0.25f);
    W8A8Block b0, b1;
    std::memcpy(&b0, blocks.data(), sizeof b0);
    std::memcpy(&b1, blocks.data() + sizeof b0, sizeof b1);
    EXPECT_EQ(b0.d, b1.d) << "the row's absmax scale, in every block";
    EXPECT_FLOAT_EQ(b0.d, 2.55f / 127.0f);
    EXPECT_EQ(b1.qs[127], -127);
    EXPECT_EQ(b0.act_scale, 0.25f);
    const W8A8Unpacked u = unpack_w8a8(blocks.data(), 1, 256, "t");
    EXPECT_EQ(u.act_scale, 0.25f);
    // A block of the row with another scale: refused, naming the tensor.
    b1.d *= 2;
    std::memcpy(blocks.data() + sizeof b0, &b1, sizeof b1);
    try {
        unpack_w8a8(blocks.data(), 1, 256, "blk.0.attn_q.weight");
        FAIL() << "accepted two scales in one row";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("blk.0.attn_q.weight"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("one scale per row"), std::string::npos) << e.what();
    }
    b1.d = -1.0f;
    std::memcpy(blocks.data() + sizeof b0, &b1, sizeof b1);
    EXPECT_THROW(unpack_w8a8(blocks.data(), 1, 256, "t"), InputError);
}

}  // namespace
}  // namespace tern
