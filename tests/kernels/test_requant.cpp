// kernels/requant: the two requantization rules against their definitions
// (exact rationals in double), and the one place they differ (ties).
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <random>

#include "kernels/requant/requant.h"

namespace tern {
namespace {

// round(v), ties away from zero: gemmlowp's rounding right shift.
int64_t round_away(double v) { return static_cast<int64_t>(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5)); }

TEST(Requant, FixedPointPrimitivesOnKnownValues) {
    EXPECT_EQ(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN), INT32_MAX);
    EXPECT_EQ(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
    EXPECT_EQ(saturating_rounding_doubling_high_mul(-5, 1 << 30), -2);  // -2.5: ties toward +infinity
    EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5 -> 3
    EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // -2.5 -> -3
    EXPECT_EQ(rounding_divide_by_pot(3, 1), 2);
    EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);
    EXPECT_EQ(rounding_divide_by_pot(-4, 2), -1);
    const FixedPointMultiplier half = quantize_multiplier(0.5);
    EXPECT_EQ(half.multiplier, 1 << 30);
    EXPECT_EQ(half.shift, 0);
    const FixedPointMultiplier three = quantize_multiplier(3.0);
    EXPECT_EQ(three.multiplier, 3 << 29);
    EXPECT_EQ(three.shift, 2);
    EXPECT_EQ(quantize_multiplier(0.0).multiplier, 0);
    EXPECT_EQ(quantize_multiplier(1e-30).multiplier, 0);
}

TEST(Requant, FixedPointMatchesExactProductWithinOneStep) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> acc_dist(-(1 << 24), 1 << 24);
    std::uniform_real_distribution<double> log_dist(-20, 2);
    for (int t = 0; t < 2000; ++t) {
        const double real = std::exp2(log_dist(rng));
        const FixedPointMultiplier m = quantize_multiplier(real);
        // The multiplier as stored is exactly m.multiplier * 2^(shift - 31).
        const double stored = std::ldexp(static_cast<double>(m.multiplier), m.shift - 31);
        EXPECT_NEAR(stored / real, 1.0, 1e-9);
        const int32_t acc = acc_dist(rng);
        const int64_t got = multiply_by_quantized_multiplier(acc, m);
        // Two roundings (high mul, then shift) may each move half a step.
        EXPECT_LE(std::llabs(got - round_away(acc * stored)), 1) << "acc " << acc << " real " << real;
    }
    // A multiplier of 1/2 is one rounding, the high multiply's: ties toward +infinity (-2.5 -> -2, 2.5 -> 3).
    const FixedPointMultiplier half = quantize_multiplier(0.5);
    for (int32_t acc = -1000; acc <= 1000; ++acc) {
        EXPECT_EQ(multiply_by_quantized_multiplier(acc, half), static_cast<int64_t>(std::floor(acc * 0.5 + 0.5))) << acc;
    }
}

TEST(Requant, FloatPathRoundsTiesToEvenAndClampsAroundZeroPoint) {
    // ORT (MLAS, x86): fp32 product, clamp, round half to even, + zero point.
    EXPECT_EQ(requantize_float(5, 0.5f, 0, -128, 127), 2);   // 2.5 -> 2
    EXPECT_EQ(requantize_float(7, 0.5f, 0, -128, 127), 4);   // 3.5 -> 4
    EXPECT_EQ(requantize_float(-5, 0.5f, 0, -128, 127), -2);
    EXPECT_EQ(requantize_float(5, 0.5f, 10, 0, 255), 12);
    EXPECT_EQ(requantize_float(100000, 1.f, 10, 0, 255), 255);
    EXPECT_EQ(requantize_float(-100000, 1.f, 10, 0, 255), 0);
    EXPECT_EQ(requantize_float(-100000, 1.f, -3, -128, 127), -128);
    // The same tie under the fixed-point rule rounds up: the one-LSB difference.
    EXPECT_EQ(requantize_fixed_point(5, quantize_multiplier(0.5), 0, -128, 127), 3);
    EXPECT_EQ(requantize_fixed_point(5, quantize_multiplier(0.5), 10, 0, 255), 13);
    EXPECT_EQ(requantize_fixed_point(1 << 20, quantize_multiplier(1.0), 0, -128, 127), 127);
    // The scale is formed as (x * w) / y in fp32, in that order.
    EXPECT_EQ(requant_scale(0.1f, 0.3f, 0.7f), (0.1f * 0.3f) / 0.7f);
    std::vector<int32_t> acc{5, 7, -300, 300};
    std::vector<uint8_t> out(4);
    const float scales[2] = {0.5f, 1.f};
    requantize_rows_float(acc.data(), 2, 2, scales, true, 128, out.data());
    EXPECT_EQ(out, (std::vector<uint8_t>{130, 135, 0, 255}));
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(Requant, MagicRoundingEqualsNearbyintOverEveryQuarterAndRandomValues) {
    // Every tie and quarter step across the widest 8-bit clamp, then random values.
    for (int q = -4 * 600; q <= 4 * 600; ++q) {
        const float v = static_cast<float>(q) / 4.f;
        ASSERT_EQ(round_clamped(v, -600.f, 600.f), std::nearbyint(v)) << v;
    }
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> u(-510.f, 510.f);
    for (int i = 0; i < 200000; ++i) {
        const float v = u(rng);
        ASSERT_EQ(round_clamped(v, -510.f, 510.f), std::nearbyint(v)) << v;
    }
    EXPECT_EQ(round_clamped(-0.4f, -1.f, 1.f), 0.f);
    EXPECT_EQ(round_clamped(1e9f + 64.f, -2e9f, 2e9f), std::nearbyint(1e9f + 64.f));  // wide clamps take nearbyint
}

}  // namespace
}  // namespace tern
