#pragma once
// Requantization of int32 accumulators to 8-bit codes, written once for the
// graph runtime's integer ops (QLinearConv, QLinearMatMul, the fused QDQ nodes).
//
// Two rounding rules exist in the wild and they differ by one LSB on ties:
//  * float scale (what ONNX Runtime's MLAS does on x86, MlasRequantizeOutput and
//    the QLinearConv / QLinearMatMul / ConvSym kernels): scale = (x_scale * w_scale) / y_scale
//    computed in fp32 once per output channel, v = float(acc) * scale, clamped in
//    float to [qmin - zp, qmax - zp], rounded half to even (cvtps2dq under the
//    default MXCSR), plus zp. tern's QLinear ops use this so outputs match ORT.
//  * fixed point (TFLite / gemmlowp): the real multiplier m in (0, 1) becomes a
//    Q31 integer and a shift; acc * m is a saturating rounding doubling high
//    multiply (ties toward +infinity) followed by a rounding right shift (ties
//    away from zero), so a tie can land one LSB above ORT's half-to-even.
//    Used where integer-only hardware semantics are wanted (TFLite int8 models).
#include <cmath>
#include <cstdint>

namespace tern {

// ---- float scale (ONNX Runtime x86) ----

// The fp32 scale of one output channel, in ORT's order of operations.
inline float requant_scale(float x_scale, float w_scale, float y_scale) { return (x_scale * w_scale) / y_scale; }

// Round half to even of a value already clamped to [lo, hi]: within +-2^22,
// adding and subtracting 1.5 * 2^23 rounds exactly as nearbyint does under the
// default rounding mode, without nearbyint's libm call in the inner loops
// (code ranges are 8-bit, far inside; wider clamps take nearbyint). IEEE
// arithmetic (no -ffast-math anywhere in tern) keeps the sum from being folded.
inline float round_clamped(float v, float lo, float hi) {
    constexpr float limit = 4194304.0f, magic = 12582912.0f;
    if (lo < -limit || hi > limit) return std::nearbyint(v);
    return (v + magic) - magic;
}

inline int32_t requantize_float(int32_t acc, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
    float v = static_cast<float>(acc) * scale;
    const float lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
    v = v < lo ? lo : v;  // NaN cannot arise: acc is finite and scale is checked finite by the ops
    v = v > hi ? hi : v;
    return static_cast<int32_t>(round_clamped(v, lo, hi)) + zero_point;
}

// QuantizeLinear of one float: x / scale clamped to the codes' range around zp,
// ties to even (MLAS on x86: divide, MAXPS/MINPS so NaN becomes the lower bound, CVTPS2DQ).
inline int32_t quantize_float(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
    float v = x / scale;
    const float lo = static_cast<float>(qmin - zero_point), hi = static_cast<float>(qmax - zero_point);
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return static_cast<int32_t>(round_clamped(v, lo, hi)) + zero_point;
}

// ---- fixed point (TFLite) ----

struct FixedPointMultiplier {
    int32_t multiplier = 0;  // Q31, in [2^30, 2^31) unless zero
    int shift = 0;           // > 0: left shift before the multiply; < 0: rounding right shift after
};

// real = multiplier * 2^(shift - 31). Reals too small for a Q31 with shift >= -31 become zero.
FixedPointMultiplier quantize_multiplier(double real);

// round(a * b / 2^31) with ties toward +infinity (gemmlowp's nudge); saturates the one overflowing case (INT32_MIN^2).
int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b);
// round(x / 2^exponent), ties away from zero; exponent in [0, 31].
int32_t rounding_divide_by_pot(int32_t x, int exponent);
// acc * real with the multiplier from quantize_multiplier(real).
int32_t multiply_by_quantized_multiplier(int32_t acc, FixedPointMultiplier m);

inline int32_t requantize_fixed_point(int32_t acc, FixedPointMultiplier m, int32_t zero_point, int32_t qmin,
                                      int32_t qmax) {
    int64_t v = static_cast<int64_t>(multiply_by_quantized_multiplier(acc, m)) + zero_point;
    v = v < qmin ? qmin : v;
    v = v > qmax ? qmax : v;
    return static_cast<int32_t>(v);
}

// Rows of int32 accumulators (rows, cols) -> 8-bit codes, with one scale per
// column (per output channel) or one for all (scales_per_col false). T is int8_t or uint8_t.
template <class T>
void requantize_rows_float(const int32_t* acc, int64_t rows, int64_t cols, const float* scales, bool scales_per_col,
                           int32_t zero_point, T* out) {
    constexpr int32_t qmin = static_cast<T>(-1) < 0 ? -128 : 0, qmax = static_cast<T>(-1) < 0 ? 127 : 255;
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            const float s = scales[scales_per_col ? c : 0];
            out[r * cols + c] = static_cast<T>(requantize_float(acc[r * cols + c], s, zero_point, qmin, qmax));
        }
    }
}

}  // namespace tern
