// Importance-weighted quantizers (llama.cpp's quantize_row_*_impl with quant_weights).
//
// The same bit-exactness rules as gguf_blocks_k_search.cpp: float32 in element
// order, products associated left to right as written, nearest_int_rne. Only
// the searches differ from the reference quantizers; the packing is shared.
#include "formats/gguf_blocks_imatrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "formats/gguf_blocks_k_pack.h"
#include "formats/gguf_blocks_k_search.h"

namespace tern {
namespace {

inline int clamp_int(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

float sum_of_squares(const float* x, int64_t n) {
    float s = 0.0f;
    for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
    return s;
}

// weight_j = importance_j * sqrt(sigma2 + x_j^2); returns their sum.
float element_weights(const float* x, const float* importance, float sigma2, int n, float* weight) {
    float sum = 0.0f;
    for (int l = 0; l < n; ++l) {
        weight[l] = importance[l] * std::sqrt(sigma2 + x[l] * x[l]);
        sum += weight[l];
    }
    return sum;
}

// Asymmetric sub-block fit shared by q4_1, q5_1 and the K-quants with mins
// (llama.cpp's make_qkx3_quants, which is make_qkx2_quants with these steps).
float fit_with_min(int n, int nmax, const float* x, const float* weight, uint8_t* L, float* the_min) {
    uint8_t Laux[32];
    return gguf_k::make_qkx2_quants(n, nmax, x, weight, L, the_min, Laux, -0.9f, 0.05f, 36, false);
}

// q4_K and q5_K super-block: per-32 weighted fits, 6-bit scales and mins by
// make_qp_quants weighted by each sub-block's total weight, then the codes
// recomputed from the stored scales (L in [0, nmax]).
template <class Block>
void weighted_super_block_k4(const float* x, const float* importance, Block& y, uint8_t* L, int nmax) {
    float weights[32];
    float sw[8];
    float scales[8];
    float mins[8];
    const float sigma2 = 2.0f * sum_of_squares(x, kQK_K) / static_cast<float>(kQK_K);
    for (int j = 0; j < 8; ++j) {
        sw[j] = element_weights(x + 32 * j, importance + 32 * j, sigma2, 32, weights);
        scales[j] = fit_with_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j]);
    }
    uint8_t ls[8];
    uint8_t lm[8];
    const float d_block = gguf_k::make_qp_quants(8, 63, scales, ls, sw);
    const float m_block = gguf_k::make_qp_quants(8, 63, mins, lm, sw);
    for (int j = 0; j < 8; ++j) {
        ls[j] = std::min<uint8_t>(63, ls[j]);
        lm[j] = std::min<uint8_t>(63, lm[j]);
    }
    std::memset(y.scales, 0, kKScaleBytes);
    gguf_k::pack_scale_min_k4(ls, lm, y.scales);
    y.d = fp32_to_fp16(d_block);
    y.dmin = fp32_to_fp16(m_block);
    gguf_k::codes_under_scale_min_k4(y, x, nmax, L);
}

template <class Block>
void quantize_bytes_weighted(const float* x, uint8_t* out, int64_t k, const float* importance,
                             void (*fn)(const float*, Block*, int64_t, const float*)) {
    fn(x, reinterpret_cast<Block*>(out), k, importance);
}

}  // namespace

// ---------------------------------------------------------------- legacy

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q4_0(x, y, k);
    const float sigma2 = sum_of_squares(x, k) / static_cast<float>(k);
    float weight[kQK4_0];
    int8_t L[kQK4_0];
    for (int64_t ib = 0; ib < k / kQK4_0; ++ib) {
        const float* xb = x + kQK4_0 * ib;
        element_weights(xb, importance + kQK4_0 * ib, sigma2, kQK4_0, weight);
        y[ib].d = fp32_to_fp16(gguf_k::make_qx_quants(kQK4_0, 8, xb, L, weight));
        for (int j = 0; j < kQK4_0 / 2; ++j) y[ib].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
    }
}

void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q4_1(x, y, k);
    const float sigma2 = sum_of_squares(x, k) / static_cast<float>(k);
    float weight[kQK4_1];
    uint8_t L[kQK4_1];
    for (int64_t ib = 0; ib < k / kQK4_1; ++ib) {
        const float* xb = x + kQK4_1 * ib;
        element_weights(xb, importance + kQK4_1 * ib, sigma2, kQK4_1, weight);
        float min;
        y[ib].d = fp32_to_fp16(fit_with_min(kQK4_1, 15, xb, weight, L, &min));
        y[ib].m = fp32_to_fp16(-min);
        for (int j = 0; j < kQK4_1 / 2; ++j) y[ib].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
    }
}

namespace {
// 5-bit codes of a 32-element block: low nibbles in qs, bit 4 of element j in bit j of qh.
template <class T>
void pack_q5_legacy(const T* L, uint8_t* qs, uint8_t* qh_bytes) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const auto l0 = static_cast<uint8_t>(L[j]);
        const auto l1 = static_cast<uint8_t>(L[j + 16]);
        qs[j] = static_cast<uint8_t>((l0 & 0x0F) | ((l1 & 0x0F) << 4));
        qh |= ((l0 & 0x10u) >> 4) << j;
        qh |= ((l1 & 0x10u) >> 4) << (j + 16);
    }
    std::memcpy(qh_bytes, &qh, 4);
}
}  // namespace

void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q5_0(x, y, k);
    const float sigma2 = sum_of_squares(x, k) / static_cast<float>(k);
    float weight[kQK5_0];
    int8_t L[kQK5_0];
    for (int64_t ib = 0; ib < k / kQK5_0; ++ib) {
        const float* xb = x + kQK5_0 * ib;
        element_weights(xb, importance + kQK5_0 * ib, sigma2, kQK5_0, weight);
        y[ib].d = fp32_to_fp16(gguf_k::make_qx_quants(kQK5_0, 16, xb, L, weight));
        pack_q5_legacy(L, y[ib].qs, y[ib].qh);
    }
}

void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q5_1(x, y, k);
    const float sigma2 = sum_of_squares(x, k) / static_cast<float>(k);
    float weight[kQK5_1];
    uint8_t L[kQK5_1];
    for (int64_t ib = 0; ib < k / kQK5_1; ++ib) {
        const float* xb = x + kQK5_1 * ib;
        element_weights(xb, importance + kQK5_1 * ib, sigma2, kQK5_1, weight);
        float min;
        y[ib].d = fp32_to_fp16(fit_with_min(kQK5_1, 31, xb, weight, L, &min));
        y[ib].m = fp32_to_fp16(-min);
        pack_q5_legacy(L, y[ib].qs, y[ib].qh);
    }
}

// ---------------------------------------------------------------- K-quants

void quantize_row_q2_K(const float* x, BlockQ2_K* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q2_K(x, y, k);
    uint8_t L[kQK_K];
    float weight[16];
    float sw[16];
    float scales[16];
    float mins[16];
    uint8_t ls[16];
    uint8_t lm[16];
    for (int64_t i = 0; i < k / kQK_K; ++i, x += kQK_K) {
        const float* qw = importance + kQK_K * i;
        const float sigma2 = sum_of_squares(x, kQK_K) / static_cast<float>(kQK_K);
        for (int j = 0; j < 16; ++j) {
            sw[j] = element_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
            scales[j] = fit_with_min(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j]);
        }
        y[i].d = fp32_to_fp16(gguf_k::make_qp_quants(16, 15, scales, ls, sw));
        y[i].dmin = fp32_to_fp16(gguf_k::make_qp_quants(16, 15, mins, lm, sw));
        const float dm = fp16_to_fp32(y[i].d);
        const float mm = fp16_to_fp32(y[i].dmin);
        for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
        for (int j = 0; j < 16; ++j) {
            const float d = dm * static_cast<float>(y[i].scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float m = mm * static_cast<float>(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = static_cast<uint8_t>(clamp_int(nearest_int_rne((x[16 * j + ii] + m) / d), 0, 3));
        }
        gguf_k::pack_2bit(L, y[i].qs);
    }
}

void quantize_row_q3_K(const float* x, BlockQ3_K* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q3_K(x, y, k);
    int8_t L[kQK_K];
    float weight[16];
    float sw[16];
    float scales[16];
    for (int64_t i = 0; i < k / kQK_K; ++i, x += kQK_K) {
        const float* qw = importance + kQK_K * i;
        const float sigma2 = 2.0f * sum_of_squares(x, kQK_K) / static_cast<float>(kQK_K);
        for (int j = 0; j < 16; ++j) {
            sw[j] = element_weights(x + 16 * j, qw + 16 * j, sigma2, 16, weight);
            scales[j] = gguf_k::make_qx_quants(16, 4, x + 16 * j, L + 16 * j, weight);
        }
        // The 16 signed sub-block scales fitted as 6-bit codes (stored + 32) against one scale.
        int8_t ls8[16];
        const float d_block = gguf_k::make_qx_quants(16, 32, scales, ls8, sw);
        int ls[16];
        for (int j = 0; j < 16; ++j) ls[j] = ls8[j];
        gguf_k::pack_scales_q3(ls, y[i].scales);
        y[i].d = fp32_to_fp16(d_block);
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(y[i].d) * static_cast<float>(gguf_k::unpack_scale_q3(y[i].scales, j));
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = static_cast<int8_t>(clamp_int(nearest_int_rne(x[16 * j + ii] / d), -4, 3) + 4);
        }
        gguf_k::pack_q3_codes(L, y[i].hmask, y[i].qs);
    }
}

void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q4_K(x, y, k);
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < k / kQK_K; ++i, x += kQK_K) {
        weighted_super_block_k4(x, importance + kQK_K * i, y[i], L, 15);
        gguf_k::pack_q4_codes(L, y[i].qs);
    }
}

void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t k, const float* importance) {
    if (!importance) return quantize_row_q5_K(x, y, k);
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < k / kQK_K; ++i, x += kQK_K) {
        weighted_super_block_k4(x, importance + kQK_K * i, y[i], L, 31);
        gguf_k::pack_q5_codes(L, y[i].qh, y[i].qs);
    }
}

// quantize_row_q6_K(x, y, k, importance) is in gguf_blocks_k.cpp beside the reference.

bool has_weighted_quantizer(const FormatDescriptor& fmt) {
    if (!fmt.dtype) return false;
    switch (*fmt.dtype) {
        case DType::q4_0: case DType::q4_1: case DType::q5_0: case DType::q5_1: case DType::q2_k:
        case DType::q3_k: case DType::q4_k: case DType::q5_k: case DType::q6_k: return true;
        default: return false;
    }
}

bool quantize_row_weighted(const FormatDescriptor& fmt, const float* x, uint8_t* out, int64_t k,
                           const float* importance) {
    if (!fmt.dtype) return false;
    switch (*fmt.dtype) {
        case DType::q4_0: quantize_bytes_weighted<BlockQ4_0>(x, out, k, importance, quantize_row_q4_0); return true;
        case DType::q4_1: quantize_bytes_weighted<BlockQ4_1>(x, out, k, importance, quantize_row_q4_1); return true;
        case DType::q5_0: quantize_bytes_weighted<BlockQ5_0>(x, out, k, importance, quantize_row_q5_0); return true;
        case DType::q5_1: quantize_bytes_weighted<BlockQ5_1>(x, out, k, importance, quantize_row_q5_1); return true;
        case DType::q2_k: quantize_bytes_weighted<BlockQ2_K>(x, out, k, importance, quantize_row_q2_K); return true;
        case DType::q3_k: quantize_bytes_weighted<BlockQ3_K>(x, out, k, importance, quantize_row_q3_K); return true;
        case DType::q4_k: quantize_bytes_weighted<BlockQ4_K>(x, out, k, importance, quantize_row_q4_K); return true;
        case DType::q5_k: quantize_bytes_weighted<BlockQ5_K>(x, out, k, importance, quantize_row_q5_K); return true;
        case DType::q6_k: quantize_bytes_weighted<BlockQ6_K>(x, out, k, importance, quantize_row_q6_K); return true;
        default: return false;
    }
}

}  // namespace tern
