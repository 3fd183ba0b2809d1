// The ExMy codec (FP8 E4M3/E5M2, FP6 E2M3/E3M2, FP4 E2M1) and E8M0 checked code
// by code against the OCP specs' value formula written out here, the values the
// specs state, IEEE binary16 (E5M2 is its top byte), and brute-force nearest
// rounding over every code.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/half.h"
#include "formats/format.h"
#include "formats/minifloat.h"

namespace tern {
namespace {

struct NamedSpec {
    const char* name;
    MinifloatSpec spec;
};

const NamedSpec kSpecs[] = {
    {"e4m3", kFp8E4M3}, {"e5m2", kFp8E5M2}, {"e2m3", kFp6E2M3}, {"e3m2", kFp6E3M2}, {"e2m1", kFp4E2M1},
};

// The OCP value formula, from the spec text rather than the codec:
// normal (E > 0): (-1)^S * 2^(E - bias) * (1 + M / 2^m); subnormal: (-1)^S * 2^(1 - bias) * (M / 2^m).
double spec_value(int ebits, int mbits, int bias, unsigned code) {
    const unsigned s = code >> (ebits + mbits);
    const unsigned e = (code >> mbits) & ((1u << ebits) - 1);
    const unsigned m = code & ((1u << mbits) - 1);
    const double frac = m / std::pow(2.0, mbits);
    const double v = e == 0 ? std::pow(2.0, 1 - bias) * frac : std::pow(2.0, static_cast<int>(e) - bias) * (1 + frac);
    return s ? -v : v;
}

TEST(Fp8E4M3, DecodesEveryCodeFromTheSpecFormula) {
    int nans = 0;
    for (unsigned c = 0; c < 256; ++c) {
        const float v = minifloat_decode(kFp8E4M3, static_cast<uint8_t>(c));
        if ((c & 0x7F) == 0x7F) {  // only S.1111.111 is NaN
            EXPECT_TRUE(std::isnan(v)) << c;
            ++nans;
            continue;
        }
        EXPECT_EQ(v, spec_value(4, 3, 7, c)) << "code " << c;
        EXPECT_TRUE(std::isfinite(v)) << c;
    }
    EXPECT_EQ(nans, 2);
    EXPECT_EQ(minifloat_decode(kFp8E4M3, 0x7E), 448.0f);
    EXPECT_EQ(minifloat_decode(kFp8E4M3, 0xFE), -448.0f);
    EXPECT_EQ(minifloat_decode(kFp8E4M3, 0x08), std::ldexp(1.0f, -6));  // min normal
    EXPECT_EQ(minifloat_decode(kFp8E4M3, 0x01), std::ldexp(1.0f, -9));  // min subnormal
    EXPECT_EQ(minifloat_decode(kFp8E4M3, 0x07), 7 * std::ldexp(1.0f, -9));  // max subnormal 0.875 * 2^-6
    EXPECT_EQ(kFp8E4M3.max_finite(), 448.0);
}

TEST(Fp8E5M2, DecodesEveryCodeFromTheSpecFormulaAndAsTopByteOfHalf) {
    int nans = 0, infs = 0;
    for (unsigned c = 0; c < 256; ++c) {
        const float v = minifloat_decode(kFp8E5M2, static_cast<uint8_t>(c));
        const float half = fp16_to_fp32(static_cast<uint16_t>(c << 8));
        const unsigned e = (c >> 2) & 31, m = c & 3;
        if (e == 31) {
            if (m == 0) {
                EXPECT_EQ(v, (c & 0x80) ? -INFINITY : INFINITY);
                ++infs;
            } else {
                EXPECT_TRUE(std::isnan(v)) << c;
                ++nans;
            }
            EXPECT_EQ(std::isnan(v), std::isnan(half));
            continue;
        }
        EXPECT_EQ(v, spec_value(5, 2, 15, c)) << "code " << c;
        EXPECT_EQ(v, half) << "code " << c;
    }
    EXPECT_EQ(nans, 6);
    EXPECT_EQ(infs, 2);
    EXPECT_EQ(minifloat_decode(kFp8E5M2, 0x7B), 57344.0f);
    EXPECT_EQ(minifloat_decode(kFp8E5M2, 0x04), std::ldexp(1.0f, -14));  // min normal
    EXPECT_EQ(minifloat_decode(kFp8E5M2, 0x01), std::ldexp(1.0f, -16));  // min subnormal
    EXPECT_EQ(kFp8E5M2.max_finite(), 57344.0);
}

TEST(Fp6Fp4, DecodeEveryCodeFromTheSpecFormula) {
    struct Case {
        MinifloatSpec spec;
        int e, m, bias;
    };
    for (const Case& k : {Case{kFp6E2M3, 2, 3, 1}, Case{kFp6E3M2, 3, 2, 3}, Case{kFp4E2M1, 2, 1, 1}}) {
        const unsigned codes = 1u << (1 + k.e + k.m);
        for (unsigned c = 0; c < codes; ++c) {
            const float v = minifloat_decode(k.spec, static_cast<uint8_t>(c));
            EXPECT_TRUE(std::isfinite(v));  // no Inf or NaN encodings in FP6/FP4
            EXPECT_EQ(v, spec_value(k.e, k.m, k.bias, c)) << "E" << k.e << "M" << k.m << " code " << c;
        }
    }
}

TEST(Fp6Fp4, SpecStatedValues) {
    const float e2m1[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};  // OCP MX v1.0, FP4 E2M1 table
    for (unsigned c = 0; c < 8; ++c) {
        EXPECT_EQ(minifloat_decode(kFp4E2M1, static_cast<uint8_t>(c)), e2m1[c]);
        EXPECT_EQ(minifloat_decode(kFp4E2M1, static_cast<uint8_t>(c | 8)), -e2m1[c]);
    }
    EXPECT_EQ(minifloat_decode(kFp6E2M3, 0x1F), 7.5f);
    EXPECT_EQ(minifloat_decode(kFp6E2M3, 0x01), 0.125f);
    EXPECT_EQ(minifloat_decode(kFp6E2M3, 0x08), 1.0f);  // min normal
    EXPECT_EQ(minifloat_decode(kFp6E3M2, 0x1F), 28.0f);
    EXPECT_EQ(minifloat_decode(kFp6E3M2, 0x01), 0.0625f);
    EXPECT_EQ(minifloat_decode(kFp6E3M2, 0x04), 0.25f);  // min normal
    EXPECT_EQ(kFp6E2M3.max_finite(), 7.5);
    EXPECT_EQ(kFp6E3M2.max_finite(), 28.0);
    EXPECT_EQ(kFp4E2M1.max_finite(), 6.0);
    // emax of the largest normal, used for the MX shared exponent (spec table).
    EXPECT_EQ(kFp8E4M3.emax(), 8);
    EXPECT_EQ(kFp8E5M2.emax(), 15);
    EXPECT_EQ(kFp6E2M3.emax(), 2);
    EXPECT_EQ(kFp6E3M2.emax(), 4);
    EXPECT_EQ(kFp4E2M1.emax(), 2);
}

TEST(E8M0, DecodesEveryCode) {
    for (unsigned c = 0; c < 255; ++c) EXPECT_EQ(e8m0_decode(static_cast<uint8_t>(c)), std::pow(2.0, int(c) - 127)) << c;
    EXPECT_TRUE(std::isnan(e8m0_decode(0xFF)));
    EXPECT_EQ(e8m0_decode(127), 1.0f);
    EXPECT_EQ(e8m0_encode_exponent(0), 127);
    EXPECT_EQ(e8m0_encode_exponent(-127), 0);
    EXPECT_EQ(e8m0_encode_exponent(-300), 0);   // clamped
    EXPECT_EQ(e8m0_encode_exponent(500), 254);  // clamped, never the NaN code
}

TEST(Minifloat, EncodeOfDecodeIsIdentityForEveryNonNanCode) {
    for (const auto& [name, s] : kSpecs) {
        for (unsigned c = 0; c < (1u << s.bits()); ++c) {
            const auto code = static_cast<uint8_t>(c);
            if (minifloat_is_nan(s, code)) continue;
            const float v = minifloat_decode(s, code);
            EXPECT_EQ(minifloat_encode(s, v, MinifloatOverflow::saturate), code) << name << " code " << c;
            EXPECT_EQ(minifloat_encode(s, v, MinifloatOverflow::non_saturating), code) << name << " code " << c;
        }
    }
}

// Finite non-negative codes sorted by value (codes grow with value for positive signs).
std::vector<std::pair<double, uint8_t>> positive_grid(const MinifloatSpec& s) {
    std::vector<std::pair<double, uint8_t>> g;
    for (unsigned c = 0; c < s.sign_mask(); ++c) {
        const float v = minifloat_decode(s, static_cast<uint8_t>(c));
        if (std::isfinite(v)) g.emplace_back(v, static_cast<uint8_t>(c));
    }
    return g;
}

TEST(Minifloat, TiesRoundToEvenMantissa) {
    for (const auto& [name, s] : kSpecs) {
        const auto g = positive_grid(s);
        for (size_t i = 0; i + 1 < g.size(); ++i) {
            const double mid = (g[i].first + g[i + 1].first) / 2;  // exact in float: few bits
            const uint8_t even = (g[i].second & 1) == 0 ? g[i].second : g[i + 1].second;
            EXPECT_EQ(minifloat_encode(s, static_cast<float>(mid)), even) << name << " mid " << mid;
            EXPECT_EQ(minifloat_encode(s, static_cast<float>(-mid)), even | s.sign_mask()) << name;
            // Just off the midpoint goes to the nearer neighbour.
            EXPECT_EQ(minifloat_encode(s, std::nextafter(static_cast<float>(mid), 0.0f)), g[i].second) << name;
            EXPECT_EQ(minifloat_encode(s, std::nextafter(static_cast<float>(mid), 1e30f)), g[i + 1].second) << name;
        }
    }
}

TEST(Minifloat, MatchesBruteForceNearestOnRandomValues) {
    std::mt19937_64 rng(11);
    for (const auto& [name, s] : kSpecs) {
        const auto g = positive_grid(s);
        const double lo = std::log2(s.min_subnormal() / 8), hi = std::log2(s.max_finite() * 1.5);
        std::uniform_real_distribution<double> log_mag(lo, hi);
        for (int t = 0; t < 20000; ++t) {
            const float x = static_cast<float>(std::exp2(log_mag(rng)));
            // Nearest grid value; on an exact tie prefer the even code. Above max: max (saturation).
            size_t best = 0;
            for (size_t i = 1; i < g.size(); ++i) {
                const double di = std::fabs(g[i].first - x), db = std::fabs(g[best].first - x);
                if (di < db || (di == db && (g[i].second & 1) == 0)) best = i;
            }
            const uint8_t got = minifloat_encode(s, x);
            ASSERT_EQ(got, g[best].second) << name << " x=" << x;
            ASSERT_EQ(minifloat_encode(s, -x), g[best].second | s.sign_mask()) << name << " x=" << -x;
        }
    }
}

TEST(Fp8E4M3, SaturationAndNanRules) {
    const auto enc = [](float x, MinifloatOverflow o) { return minifloat_encode(kFp8E4M3, x, o); };
    const auto sat = MinifloatOverflow::saturate, nonsat = MinifloatOverflow::non_saturating;
    EXPECT_EQ(enc(448, sat), 0x7E);
    EXPECT_EQ(enc(464, sat), 0x7E);  // tie between 448 and 480 (not representable): even mantissa 110
    EXPECT_EQ(enc(464, nonsat), 0x7E);
    EXPECT_EQ(enc(470, sat), 0x7E);
    EXPECT_EQ(enc(470, nonsat) & 0x7F, 0x7F);  // rounds to 480: NaN without saturation
    EXPECT_EQ(enc(1e30f, sat), 0x7E);
    EXPECT_EQ(enc(-1e30f, sat), 0xFE);
    EXPECT_EQ(enc(INFINITY, sat), 0x7E);  // no Inf in E4M3: saturation mode clamps it
    EXPECT_EQ(enc(-INFINITY, sat), 0xFE);
    EXPECT_EQ(enc(INFINITY, nonsat) & 0x7F, 0x7F);
    EXPECT_TRUE(std::isnan(minifloat_decode(kFp8E4M3, enc(NAN, sat))));
    EXPECT_TRUE(std::isnan(minifloat_decode(kFp8E4M3, enc(-NAN, sat))));
    // Subnormal ties: 2^-10 is halfway between 0 and 2^-9 -> 0 (even); 3 * 2^-10 -> 2 * 2^-9.
    EXPECT_EQ(enc(std::ldexp(1.0f, -10), sat), 0x00);
    EXPECT_EQ(enc(3 * std::ldexp(1.0f, -10), sat), 0x02);
    EXPECT_EQ(enc(-std::ldexp(1.0f, -12), sat), 0x80);  // underflow keeps the sign
}

TEST(Fp8E5M2, SaturationAndInfRules) {
    const auto enc = [](float x, MinifloatOverflow o) { return minifloat_encode(kFp8E5M2, x, o); };
    const auto sat = MinifloatOverflow::saturate, nonsat = MinifloatOverflow::non_saturating;
    EXPECT_EQ(enc(57344, sat), 0x7B);
    EXPECT_EQ(enc(61440, sat), 0x7B);     // halfway to 65536: saturates
    EXPECT_EQ(enc(61440, nonsat), 0x7C);  // tie to even rounds up into Inf (IEEE behaviour)
    EXPECT_EQ(enc(61439, nonsat), 0x7B);
    EXPECT_EQ(enc(1e30f, sat), 0x7B);
    EXPECT_EQ(enc(-1e30f, nonsat), 0xFC);
    EXPECT_EQ(enc(INFINITY, sat), 0x7C);  // our choice: saturation applies to finite values; Inf stays Inf
    EXPECT_EQ(enc(-INFINITY, sat), 0xFC);
    EXPECT_TRUE(std::isnan(minifloat_decode(kFp8E5M2, enc(NAN, sat))));
    EXPECT_EQ(enc(std::ldexp(1.0f, -17), sat), 0x00);  // half the min subnormal: tie to even (0)
    EXPECT_EQ(enc(std::ldexp(1.5f, -17), sat), 0x01);
}

TEST(Fp6Fp4, SaturateAndNanHasNoCode) {
    EXPECT_EQ(minifloat_encode(kFp4E2M1, 100.0f), 0x07);
    EXPECT_EQ(minifloat_encode(kFp4E2M1, -7.0f), 0x0F);
    EXPECT_EQ(minifloat_encode(kFp4E2M1, 5.0f), 0x06);  // tie between 4 (code 6) and 6 (code 7): even
    EXPECT_EQ(minifloat_encode(kFp4E2M1, 0.25f), 0x00);  // tie between 0 and 0.5
    EXPECT_EQ(minifloat_encode(kFp4E2M1, 0.75f), 0x02);  // tie between 0.5 and 1: even code 2
    EXPECT_EQ(minifloat_encode(kFp6E2M3, INFINITY, MinifloatOverflow::non_saturating), 0x1F);
    EXPECT_EQ(minifloat_encode(kFp6E3M2, -1e9f), 0x3F);
    // No NaN code: NaN encodes to a (signed) zero, documented; the MX scale carries NaN instead.
    EXPECT_EQ(minifloat_decode(kFp6E3M2, minifloat_encode(kFp6E3M2, NAN)), 0.0f);
}

TEST(Fp8Formats, RegisteredWithDtypesAndRoundTrip) {
    for (const auto& [name, dtype, spec] : {std::tuple{"fp8_e4m3", DType::fp8_e4m3, kFp8E4M3},
                                            std::tuple{"fp8_e5m2", DType::fp8_e5m2, kFp8E5M2}}) {
        const FormatDescriptor& f = format_by_name(name);
        ASSERT_EQ(format_for_dtype(dtype), &f);
        EXPECT_EQ(f.block_size, 1u);
        EXPECT_EQ(f.block_bytes, 1u);
        // Every finite code's value survives quantize -> dequantize, in order.
        std::vector<float> x;
        for (unsigned c = 0; c < 256; ++c) {
            const float v = minifloat_decode(spec, static_cast<uint8_t>(c));
            if (std::isfinite(v)) x.push_back(v);
        }
        std::vector<uint8_t> q(x.size());
        std::vector<float> y(x.size());
        f.quantize(x.data(), q.data(), static_cast<int64_t>(x.size()));
        f.dequantize(q.data(), y.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], x[i]) << name;
        const auto rt = round_trip(f, std::vector<float>{1e6f, -1e6f, NAN});
        EXPECT_EQ(rt[0], static_cast<float>(spec.max_finite()));
        EXPECT_EQ(rt[1], -static_cast<float>(spec.max_finite()));
        EXPECT_TRUE(std::isnan(rt[2]));
    }
}

}  // namespace
}  // namespace tern
