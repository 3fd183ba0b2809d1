// IEEE-style float formats stored one element at a time: f32, f16, bf16.
#include <cstring>

#include "core/half.h"
#include "formats/format.h"

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

const FormatDescriptor kFloatFormats[] = {
    {"f32", "float", "IEEE binary32", 1, 4, quantize_f32, dequantize_f32, DType::f32},
    {"f16", "float", "IEEE binary16 (1-5-10), round to nearest even", 1, 2, quantize_f16, dequantize_f16, DType::f16},
    {"bf16", "float", "bfloat16 (1-8-7), round to nearest even", 1, 2, quantize_bf16, dequantize_bf16, DType::bf16},
};

}  // namespace

std::span<const FormatDescriptor> float_formats() { return kFloatFormats; }

}  // namespace tern
