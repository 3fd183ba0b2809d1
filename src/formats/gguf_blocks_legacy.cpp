// Legacy GGUF blocks of 32 elements: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
//
// Bit-exactness notes: every expression below keeps the operand order and the
// int<->float conversions of ggml's reference quantizers (float32 arithmetic,
// no fused multiply-add), because a different association changes the last
// bit of a scale and therefore the rounding of some quants.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <cstring>

#include "core/half.h"
#include "formats/gguf_blocks.h"

namespace tern {
namespace {

// Signed max-magnitude element of a block: the first one of largest |x|.
// The symmetric legacy formats pick the scale's sign from it so that this
// element maps exactly to the most negative code.
float signed_absmax(const float* x, int n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

void min_max(const float* x, int n, float* mn, float* mx) {
    float lo = FLT_MAX;
    float hi = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

float abs_max(const float* x, int n) {
    float amax = 0.0f;
    for (int j = 0; j < n; ++j) {
        const float a = std::fabs(x[j]);
        amax = amax > a ? amax : a;  // ggml's MAX(): keeps amax when a is NaN
    }
    return amax;
}

// ggml converts via an int8_t cast (truncation); values here are in range, so
// truncating to int is the same thing. NaN and out-of-range values (NaN
// weights) get what x86's truncating conversion gives, without the cast's UB.
inline int trunc_to_int(float v) {
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return std::numeric_limits<int>::min();
    return static_cast<int>(v);
}

}  // namespace

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k) {
    const int64_t nb = k / kQK4_0;
    for (int64_t i = 0; i < nb; ++i, x += kQK4_0) {
        const float max = signed_absmax(x, kQK4_0);
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < kQK4_0 / 2; ++j) {
            const int lo = std::min(15, trunc_to_int(x[j] * id + 8.5f));
            const int hi = std::min(15, trunc_to_int(x[j + kQK4_0 / 2] * id + 8.5f));
            y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t k) {
    const int64_t nb = k / kQK4_1;
    for (int64_t i = 0; i < nb; ++i, x += kQK4_1) {
        float mn, mx;
        min_max(x, kQK4_1, &mn, &mx);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(mn);
        for (int j = 0; j < kQK4_1 / 2; ++j) {
            const int lo = std::min(15, trunc_to_int((x[j] - mn) * id + 0.5f));
            const int hi = std::min(15, trunc_to_int((x[j + kQK4_1 / 2] - mn) * id + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t k) {
    const int64_t nb = k / kQK5_0;
    for (int64_t i = 0; i < nb; ++i, x += kQK5_0) {
        const float max = signed_absmax(x, kQK5_0);
        const float d = max / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kQK5_0 / 2; ++j) {
            const int lo = std::min(31, trunc_to_int(x[j] * id + 16.5f));
            const int hi = std::min(31, trunc_to_int(x[j + kQK5_0 / 2] * id + 16.5f));
            y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + kQK5_0 / 2);
        }
        std::memcpy(y[i].qh, &qh, 4);  // little-endian, as ggml stores it
    }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t k) {
    const int64_t nb = k / kQK5_1;
    for (int64_t i = 0; i < nb; ++i, x += kQK5_1) {
        float mn, mx;
        min_max(x, kQK5_1, &mn, &mx);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < kQK5_1 / 2; ++j) {
            // No clamp here in ggml either: (x - min) * id <= 31 + rounding.
            const int lo = static_cast<uint8_t>(trunc_to_int((x[j] - mn) * id + 0.5f));
            const int hi = static_cast<uint8_t>(trunc_to_int((x[j + kQK5_1 / 2] - mn) * id + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= static_cast<uint32_t>((lo >> 4) & 1) << j;
            qh |= static_cast<uint32_t>((hi >> 4) & 1) << (j + kQK5_1 / 2);
        }
        std::memcpy(y[i].qh, &qh, 4);
    }
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k) {
    const int64_t nb = k / kQK8_0;
    for (int64_t i = 0; i < nb; ++i, x += kQK8_0) {
        const float d = abs_max(x, kQK8_0) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        // roundf: halves away from zero (unlike the K-quants' nearest_int).
        for (int j = 0; j < kQK8_0; ++j) y[i].qs[j] = static_cast<int8_t>(trunc_to_int(std::round(x[j] * id)));
    }
}

void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t k) {
    const int64_t nb = k / kQK8_1;
    for (int64_t i = 0; i < nb; ++i, x += kQK8_1) {
        const float d = abs_max(x, kQK8_1) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < kQK8_1; ++j) {
            y[i].qs[j] = static_cast<int8_t>(trunc_to_int(std::round(x[j] * id)));
            sum += y[i].qs[j];
        }
        // s uses the unrounded d, as ggml does.
        y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
    }
}

void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k) {
    const int64_t nb = k / kQK4_0;
    for (int64_t i = 0; i < nb; ++i, y += kQK4_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK4_0 / 2; ++j) {
            y[j] = static_cast<float>((x[i].qs[j] & 0xF) - 8) * d;
            y[j + kQK4_0 / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_row_q4_1(const BlockQ4_1* x, float* y, int64_t k) {
    const int64_t nb = k / kQK4_1;
    for (int64_t i = 0; i < nb; ++i, y += kQK4_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < kQK4_1 / 2; ++j) {
            y[j] = static_cast<float>(x[i].qs[j] & 0xF) * d + m;
            y[j + kQK4_1 / 2] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

namespace {
// Fifth bit of element j of a q5 block, already shifted to bit 4.
inline int q5_high_bit(uint32_t qh, int j) { return static_cast<int>((qh >> j) & 1) << 4; }
}  // namespace

void dequantize_row_q5_0(const BlockQ5_0* x, float* y, int64_t k) {
    const int64_t nb = k / kQK5_0;
    for (int64_t i = 0; i < nb; ++i, y += kQK5_0) {
        const float d = fp16_to_fp32(x[i].d);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < kQK5_0 / 2; ++j) {
            const int q0 = ((x[i].qs[j] & 0xF) | q5_high_bit(qh, j)) - 16;
            const int q1 = ((x[i].qs[j] >> 4) | q5_high_bit(qh, j + kQK5_0 / 2)) - 16;
            y[j] = static_cast<float>(q0) * d;
            y[j + kQK5_0 / 2] = static_cast<float>(q1) * d;
        }
    }
}

void dequantize_row_q5_1(const BlockQ5_1* x, float* y, int64_t k) {
    const int64_t nb = k / kQK5_1;
    for (int64_t i = 0; i < nb; ++i, y += kQK5_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        uint32_t qh;
        std::memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < kQK5_1 / 2; ++j) {
            const int q0 = (x[i].qs[j] & 0xF) | q5_high_bit(qh, j);
            const int q1 = (x[i].qs[j] >> 4) | q5_high_bit(qh, j + kQK5_1 / 2);
            y[j] = static_cast<float>(q0) * d + m;
            y[j + kQK5_1 / 2] = static_cast<float>(q1) * d + m;
        }
    }
}

void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k) {
    const int64_t nb = k / kQK8_0;
    for (int64_t i = 0; i < nb; ++i, y += kQK8_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK8_0; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void dequantize_row_q8_1(const BlockQ8_1* x, float* y, int64_t k) {
    const int64_t nb = k / kQK8_1;
    for (int64_t i = 0; i < nb; ++i, y += kQK8_1) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < kQK8_1; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

}  // namespace tern
