#include "kernels/requant/requant.h"

#include <climits>

namespace tern {

FixedPointMultiplier quantize_multiplier(double real) {
    FixedPointMultiplier m;
    if (!(real > 0) || !std::isfinite(real)) return m;
    int exponent = 0;
    const double mantissa = std::frexp(real, &exponent);  // real = mantissa * 2^exponent, mantissa in [0.5, 1)
    int64_t q = static_cast<int64_t>(std::llround(mantissa * 2147483648.0));
    if (q == (int64_t{1} << 31)) {  // rounding carried into the next power of two
        q /= 2;
        ++exponent;
    }
    if (exponent < -31) return {};  // below what a Q31 and a 31-bit right shift reach
    if (exponent > 30) exponent = 30, q = INT32_MAX;  // saturate absurdly large multipliers
    m.multiplier = static_cast<int32_t>(q);
    m.shift = exponent;
    return m;
}

int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    const int64_t ab = static_cast<int64_t>(a) * b;
    const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
    return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));  // truncating division, as gemmlowp
}

int32_t rounding_divide_by_pot(int32_t x, int exponent) {
    if (exponent <= 0) return x;
    const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t multiply_by_quantized_multiplier(int32_t acc, FixedPointMultiplier m) {
    const int left = m.shift > 0 ? m.shift : 0, right = m.shift > 0 ? 0 : -m.shift;
    // The left shift saturates like TFLite's reference (which assumes it does not overflow).
    int64_t shifted = static_cast<int64_t>(acc) * (int64_t{1} << left);
    shifted = shifted > INT32_MAX ? INT32_MAX : shifted < INT32_MIN ? INT32_MIN : shifted;
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(static_cast<int32_t>(shifted), m.multiplier),
                                  right);
}

}  // namespace tern
