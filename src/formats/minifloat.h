#pragma once
// Generic scalar codec for small binary floats ExMy (1 sign bit, E exponent
// bits, M mantissa bits, an exponent bias) as used by FP8 (OCP), the MX element
// types (FP6, FP4) and the E8M0 scale. One implementation, parameterised by a
// MinifloatSpec, so every format shares the same rounding and overflow rules.
// Codes are stored in the low 1+E+M bits of a uint8_t, sign in the top one.
#include <cmath>
#include <cstdint>
#include <limits>

namespace tern {

// How the top exponent field is used.
enum class MinifloatSpecials : uint8_t {
    none,      // every code is finite (OCP FP6 E2M3/E3M2, FP4 E2M1)
    ieee,      // top exponent reserved: mantissa 0 = Inf, else NaN (OCP FP8 E5M2)
    all_ones,  // no Inf; only S.1..1.1..1 is NaN, the rest of the top binade is finite (OCP FP8 E4M3)
};

// What encode does with magnitudes beyond the largest finite value.
enum class MinifloatOverflow : uint8_t {
    // Finite overflow -> +-max finite. +-Inf stays +-Inf when the format has
    // infinities, else becomes +-max. NaN stays NaN (OCP "saturation mode").
    saturate,
    // Overflow -> +-Inf when the format has infinities, else NaN when it has
    // one, else +-max (OCP non-saturating mode).
    non_saturating,
};

struct MinifloatSpec {
    int exp_bits;
    int man_bits;
    int bias;
    MinifloatSpecials specials;

    int bits() const { return 1 + exp_bits + man_bits; }
    uint8_t sign_mask() const { return static_cast<uint8_t>(1u << (exp_bits + man_bits)); }
    int exp_field_max() const { return (1 << exp_bits) - 1; }
    int man_field_max() const { return (1 << man_bits) - 1; }
    // Unbiased exponent of the largest normal binade holding finite values.
    int emax() const { return exp_field_max() - bias - (specials == MinifloatSpecials::ieee ? 1 : 0); }
    // Largest finite magnitude: the top binade loses its all-ones mantissa under all_ones.
    double max_finite() const {
        const int top_man = specials == MinifloatSpecials::all_ones ? man_field_max() - 1 : man_field_max();
        return std::ldexp(static_cast<double>((1 << man_bits) + top_man), emax() - man_bits);
    }
    double min_normal() const { return std::ldexp(1.0, 1 - bias); }
    double min_subnormal() const { return std::ldexp(1.0, 1 - bias - man_bits); }
    bool has_inf() const { return specials == MinifloatSpecials::ieee; }
    bool has_nan() const { return specials != MinifloatSpecials::none; }
};

// The OCP formats (OCP 8-bit FP spec v1.0; OCP Microscaling spec v1.0).
inline constexpr MinifloatSpec kFp8E4M3{4, 3, 7, MinifloatSpecials::all_ones};
inline constexpr MinifloatSpec kFp8E5M2{5, 2, 15, MinifloatSpecials::ieee};
inline constexpr MinifloatSpec kFp6E2M3{2, 3, 1, MinifloatSpecials::none};
inline constexpr MinifloatSpec kFp6E3M2{3, 2, 3, MinifloatSpecials::none};
inline constexpr MinifloatSpec kFp4E2M1{2, 1, 1, MinifloatSpecials::none};

// Round half to even, independent of the floating-point environment.
inline double round_half_even(double t) {
    const double f = std::floor(t);
    const double frac = t - f;
    if (frac > 0.5) return f + 1;
    if (frac < 0.5) return f;
    return std::fmod(f, 2.0) == 0.0 ? f : f + 1;
}

inline bool minifloat_is_nan(const MinifloatSpec& s, uint8_t code) {
    const int e = (code >> s.man_bits) & s.exp_field_max();
    const int m = code & s.man_field_max();
    if (s.specials == MinifloatSpecials::ieee) return e == s.exp_field_max() && m != 0;
    if (s.specials == MinifloatSpecials::all_ones) return e == s.exp_field_max() && m == s.man_field_max();
    return false;
}

inline float minifloat_decode(const MinifloatSpec& s, uint8_t code) {
    const bool neg = (code & s.sign_mask()) != 0;
    const int e = (code >> s.man_bits) & s.exp_field_max();
    const int m = code & s.man_field_max();
    if (minifloat_is_nan(s, code)) return std::numeric_limits<float>::quiet_NaN();
    double mag;
    if (s.specials == MinifloatSpecials::ieee && e == s.exp_field_max()) {
        mag = std::numeric_limits<double>::infinity();
    } else if (e == 0) {
        mag = std::ldexp(static_cast<double>(m), 1 - s.bias - s.man_bits);
    } else {
        mag = std::ldexp(static_cast<double>((1 << s.man_bits) + m), e - s.bias - s.man_bits);
    }
    return static_cast<float>(neg ? -mag : mag);
}

// The canonical NaN code (positive sign, all-ones mantissa). Formats without a
// NaN have none; callers signal NaN some other way (MX: the block scale).
inline uint8_t minifloat_nan_code(const MinifloatSpec& s) {
    return static_cast<uint8_t>((s.exp_field_max() << s.man_bits) | s.man_field_max());
}

inline uint8_t minifloat_max_code(const MinifloatSpec& s) {
    const int top_exp = s.specials == MinifloatSpecials::ieee ? s.exp_field_max() - 1 : s.exp_field_max();
    const int top_man = s.specials == MinifloatSpecials::all_ones ? s.man_field_max() - 1 : s.man_field_max();
    return static_cast<uint8_t>((top_exp << s.man_bits) | top_man);
}

// Nearest representable value, ties to even mantissa. NaN -> the NaN code
// (formats without NaN: +-0, documented loss). Subnormals are produced, never flushed.
inline uint8_t minifloat_encode(const MinifloatSpec& s, float x,
                                MinifloatOverflow overflow = MinifloatOverflow::saturate) {
    const uint8_t sign = std::signbit(x) ? s.sign_mask() : 0;
    if (std::isnan(x)) return s.has_nan() ? static_cast<uint8_t>(sign | minifloat_nan_code(s)) : sign;
    const uint8_t inf_code = static_cast<uint8_t>(sign | (s.exp_field_max() << s.man_bits));
    const uint8_t max_code = static_cast<uint8_t>(sign | minifloat_max_code(s));
    const uint8_t overflow_code = overflow == MinifloatOverflow::saturate ? max_code
                                  : s.has_inf()                         ? inf_code
                                  : s.has_nan()                         ? static_cast<uint8_t>(sign | minifloat_nan_code(s))
                                                                        : max_code;
    const double a = std::fabs(static_cast<double>(x));
    if (std::isinf(a)) return s.has_inf() ? inf_code : overflow_code;

    // Round on the grid of a's binade (unbounded above, so overflow is visible).
    const double quantum = a < s.min_normal() ? s.min_subnormal() : std::ldexp(1.0, std::ilogb(a) - s.man_bits);
    const double r = round_half_even(a / quantum) * quantum;
    if (r > s.max_finite()) return overflow_code;
    if (r == 0) return sign;
    if (r < s.min_normal()) return static_cast<uint8_t>(sign | static_cast<int>(r / s.min_subnormal()));
    const int e = std::ilogb(r);
    const int m = static_cast<int>(std::ldexp(r, s.man_bits - e)) - (1 << s.man_bits);
    return static_cast<uint8_t>(sign | ((e + s.bias) << s.man_bits) | m);
}

// E8M0: an unsigned power of two 2^(e-127); 0xFF is NaN (OCP MX scale type).
inline constexpr uint8_t kE8M0Nan = 0xFF;
inline constexpr int kE8M0Bias = 127;

inline float e8m0_decode(uint8_t code) {
    if (code == kE8M0Nan) return std::numeric_limits<float>::quiet_NaN();
    return std::ldexp(1.0f, static_cast<int>(code) - kE8M0Bias);
}

// The code for 2^exponent, exponent clamped to the representable [-127, 127].
inline uint8_t e8m0_encode_exponent(int exponent) {
    if (exponent < -kE8M0Bias) exponent = -kE8M0Bias;
    if (exponent > kE8M0Bias) exponent = kE8M0Bias;
    return static_cast<uint8_t>(exponent + kE8M0Bias);
}

}  // namespace tern
