// Float formats stored one element at a time: f32, f16, bf16, OCP FP8 E4M3 and
// E5M2. float_formats() also carries the fixed-point and block-floating-point
// families (defined in their own files) since the registry asks this file for them.
#include <cstring>
#include <vector>

#include "core/half.h"
#include "formats/float_family_parts.h"
#include "formats/format.h"
#include "formats/minifloat.h"

namespace tern {
namespace {

void quantize_f32(const float* x, uint8_t* out, int64_t n) { std::memcpy(out, x, static_cast<size_t>(n) * 4); }
void dequantize_f32(const uint8_t* in, float* y, int64_t n) { std::memcpy(y, in, static_cast<size_t>(n) * 4); }

void quantize_f16(const float* x, uint8_t* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}
void dequantize_f16(const uint8_t* in, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        y[i] = fp16_to_fp32(h);
    }
}

void quantize_bf16(const float* x, uint8_t* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
    }
}
void dequantize_bf16(const uint8_t* in, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, in + 2 * i, 2);
        y[i] = bf16_to_fp32(h);
    }
}

// OCP FP8 in saturation mode: finite overflow clamps to +-max (448 / 57344),
// NaN stays NaN; E4M3 has no Inf so +-Inf -> +-448, E5M2 keeps +-Inf.
template <const MinifloatSpec& Spec>
void quantize_fp8(const float* x, uint8_t* out, int64_t n) {
    for (int64_t i = 0; i < n; ++i) out[i] = minifloat_encode(Spec, x[i], MinifloatOverflow::saturate);
}
template <const MinifloatSpec& Spec>
void dequantize_fp8(const uint8_t* in, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = minifloat_decode(Spec, in[i]);
}

const FormatDescriptor kFloatFormats[] = {
    {"f32", "float", "IEEE binary32", 1, 4, quantize_f32, dequantize_f32, DType::f32},
    {"f16", "float", "IEEE binary16 (1-5-10), round to nearest even", 1, 2, quantize_f16, dequantize_f16, DType::f16},
    {"bf16", "float", "bfloat16 (1-8-7), round to nearest even", 1, 2, quantize_bf16, dequantize_bf16, DType::bf16},
    {"fp8_e5m2", "float", "OCP FP8 E5M2 (bias 15, Inf/NaN, max 57344), RNE, saturating", 1, 1,
     quantize_fp8<kFp8E5M2>, dequantize_fp8<kFp8E5M2>, DType::fp8_e5m2},
    {"fp8_e4m3", "float", "OCP FP8 E4M3 (bias 7, no Inf, max 448), RNE, saturating", 1, 1,
     quantize_fp8<kFp8E4M3>, dequantize_fp8<kFp8E4M3>, DType::fp8_e4m3},
};

std::vector<FormatDescriptor> build_float_family() {
    std::vector<FormatDescriptor> all(std::begin(kFloatFormats), std::end(kFloatFormats));
    for (auto part : {fixed_point_formats(), bfp_formats()}) all.insert(all.end(), part.begin(), part.end());
    return all;
}

}  // namespace

std::span<const FormatDescriptor> float_formats() {
    static const std::vector<FormatDescriptor> family = build_float_family();
    return family;
}

}  // namespace tern
