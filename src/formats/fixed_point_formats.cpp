// Fixed point Qm.n: a two's complement integer of m + n bits read as v * 2^-n.
// Naming follows the ARM convention: m counts the integer bits *including* the
// sign, so fixed_q1_7 is 8 bits covering [-1, 1 - 2^-7]. Quantization rounds to
// nearest (ties to even) and saturates; NaN stores 0. Stored little-endian.
#include <cmath>
#include <cstring>
#include <type_traits>

#include "formats/float_family_parts.h"
#include "formats/minifloat.h"

namespace tern {
namespace {

template <int IntBits, int FracBits>
struct FixedPoint {
    static constexpr int kBits = IntBits + FracBits;
    static_assert(kBits == 8 || kBits == 16, "fixed point is stored as int8 or int16");
    using Storage = std::conditional_t<kBits == 8, int8_t, int16_t>;
    static constexpr double kMin = -(1 << (kBits - 1));
    static constexpr double kMax = (1 << (kBits - 1)) - 1;

    static Storage encode(float x) {
        if (std::isnan(x)) return 0;
        double t = round_half_even(std::ldexp(static_cast<double>(x), FracBits));  // inf stays inf, clamped below
        if (t < kMin) t = kMin;
        if (t > kMax) t = kMax;
        return static_cast<Storage>(t);
    }

    static void quantize(const float* x, uint8_t* out, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            const Storage v = encode(x[i]);
            std::memcpy(out + i * sizeof(Storage), &v, sizeof(Storage));
        }
    }
    static void dequantize(const uint8_t* in, float* y, int64_t n) {
        for (int64_t i = 0; i < n; ++i) {
            Storage v;
            std::memcpy(&v, in + i * sizeof(Storage), sizeof(Storage));
            y[i] = std::ldexp(static_cast<float>(v), -FracBits);
        }
    }
};

using Q1_7 = FixedPoint<1, 7>;
using Q4_4 = FixedPoint<4, 4>;
using Q4_12 = FixedPoint<4, 12>;
using Q8_8 = FixedPoint<8, 8>;
static_assert(sizeof(Q1_7::Storage) == 1 && sizeof(Q4_12::Storage) == 2);

const FormatDescriptor kFixedFormats[] = {
    {"fixed_q1_7", "fixed", "Q1.7 fixed point, 8-bit two's complement, range [-1, 0.992], step 2^-7, saturating", 1, 1,
     Q1_7::quantize, Q1_7::dequantize, std::nullopt},
    {"fixed_q4_4", "fixed", "Q4.4 fixed point, 8-bit two's complement, range [-8, 7.94], step 2^-4, saturating", 1, 1,
     Q4_4::quantize, Q4_4::dequantize, std::nullopt},
    {"fixed_q8_8", "fixed", "Q8.8 fixed point, 16-bit two's complement, range [-128, 127.996], step 2^-8, saturating",
     1, 2, Q8_8::quantize, Q8_8::dequantize, std::nullopt},
    {"fixed_q4_12", "fixed", "Q4.12 fixed point, 16-bit two's complement, range [-8, 7.9998], step 2^-12, saturating",
     1, 2, Q4_12::quantize, Q4_12::dequantize, std::nullopt},
};

}  // namespace

std::span<const FormatDescriptor> fixed_point_formats() { return kFixedFormats; }

}  // namespace tern
