// fp16/bf16 scalar conversions against the CPU's own F16C instructions (an
// independent implementation) over every half value and many floats.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <random>

#include "core/cpu_features.h"
#include "core/half.h"

namespace tern {
namespace {

__attribute__((target("f16c"))) float hw_half_to_float(uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) uint16_t hw_float_to_half(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

TEST(Half, DecodesEveryHalfLikeF16C) {
    if (!cpu_features().f16c) GTEST_SKIP() << "CPU has no F16C";
    for (uint32_t h = 0; h < 65536; ++h) {
        const float ours = fp16_to_fp32(static_cast<uint16_t>(h));
        const float hw = hw_half_to_float(static_cast<uint16_t>(h));
        if (std::isnan(hw)) {
            EXPECT_TRUE(std::isnan(ours)) << h;
        } else {
            EXPECT_EQ(float_to_bits(ours), float_to_bits(hw)) << "half 0x" << std::hex << h;
        }
    }
}

TEST(Half, EncodesLikeF16C) {
    if (!cpu_features().f16c) GTEST_SKIP() << "CPU has no F16C";
    std::mt19937 rng(3);
    // Random bit patterns cover every exponent, including subnormal halves and overflow.
    for (int i = 0; i < 2000000; ++i) {
        const float f = bits_to_float(rng());
        if (std::isnan(f)) continue;
        ASSERT_EQ(fp32_to_fp16(f), hw_float_to_half(f)) << "float bits 0x" << std::hex << float_to_bits(f);
    }
    // Exact ties around every half value.
    for (uint32_t h = 0; h < 0x7c00; ++h) {
        const float a = fp16_to_fp32(static_cast<uint16_t>(h));
        const float b = fp16_to_fp32(static_cast<uint16_t>(h + 1));
        const float mid = (a + b) / 2;  // exact in f32
        ASSERT_EQ(fp32_to_fp16(mid), hw_float_to_half(mid)) << h;
        ASSERT_EQ(fp32_to_fp16(-mid), hw_float_to_half(-mid)) << h;
    }
}

TEST(Bf16, RoundsToNearestEven) {
    EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(fp32_to_bf16(bits_to_float(0x3f808000u)), 0x3f80);  // tie -> even
    EXPECT_EQ(fp32_to_bf16(bits_to_float(0x3f818000u)), 0x3f82);  // tie -> even (up)
    EXPECT_EQ(fp32_to_bf16(bits_to_float(0x3f808001u)), 0x3f81);
    EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(NAN))));
    EXPECT_EQ(bf16_to_fp32(fp32_to_bf16(-INFINITY)), -INFINITY);
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = bf16_to_fp32(static_cast<uint16_t>(h));
        if (!std::isnan(f)) {
            ASSERT_EQ(fp32_to_bf16(f), h);
        }
    }
}

}  // namespace
}  // namespace tern
