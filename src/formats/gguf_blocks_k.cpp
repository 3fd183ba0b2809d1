// K-quant super-blocks (256 elements): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
//
// Each quantizer follows ggml's reference (no importance matrix) in three
// steps: (1) a per-sub-block scale search (gguf_blocks_k_search.cpp), (2) the
// sub-block scales quantized against one fp16 super-block scale, (3) the
// quants recomputed from the *stored* (fp16-rounded, quantized) scales so that
// they are optimal for what the dequantizer will actually see. Step (3) skips
// a sub-block whose effective scale is zero and keeps its step-(1) quants;
// that quirk is reproduced because it shows up in the bytes.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "formats/gguf_blocks.h"
#include "formats/gguf_blocks_imatrix.h"
#include "formats/gguf_blocks_k_pack.h"
#include "formats/gguf_blocks_k_search.h"

namespace tern {
namespace {

using gguf_k::kGroupMaxEps;

inline int clamp_int(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

using gguf_k::pack_2bit;
using gguf_k::pack_scale_min_k4;
using gguf_k::pack_scales_q3;
using gguf_k::unpack_scale_q3;

// Shared by q4_K and q5_K: per-32 scale search with weights av_x + |x|, then
// 6-bit scale/min quantization against the fp16 super-block d and dmin, and
// the final quants in [0, nmax] written to L.
template <class Block>
void quantize_super_block_k4(const float* x, Block& y, uint8_t* L, int nmax, float rmin, float rdelta, int nstep) {
    float scales[8];
    float mins[8];
    float weights[32];
    uint8_t Laux[32];
    float max_scale = 0.0f;  // scales are positive since the min is subtracted
    float max_min = 0.0f;
    for (int j = 0; j < 8; ++j) {
        const float* xs = x + 32 * j;
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
        const float av_x = std::sqrt(sum_x2 / 32.0f);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
        scales[j] = gguf_k::make_qkx2_quants(32, nmax, xs, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta,
                                             nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uint8_t ls[8];
    uint8_t lm[8];
    for (int j = 0; j < 8; ++j) {
        // ggml stores nearest_int into a uint8_t before clamping: keep the wrap.
        ls[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int_rne(inv_scale * scales[j])));
        lm[j] = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int_rne(inv_min * mins[j])));
    }
    pack_scale_min_k4(ls, lm, y.scales);
    y.d = fp32_to_fp16(max_scale / 63.0f);
    y.dmin = fp32_to_fp16(max_min / 63.0f);

    gguf_k::codes_under_scale_min_k4(y, x, nmax, L);
}

}  // namespace

// ---------------------------------------------------------------- Q2_K

void quantize_row_q2_K(const float* x, BlockQ2_K* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    const float q4scale = 15.0f;
    uint8_t L[kQK_K];
    uint8_t Laux[16];
    float weights[16];
    float mins[16];
    float scales[16];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max_scale = 0.0f;
        float max_min = 0.0f;
        for (int j = 0; j < 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
            scales[j] = gguf_k::make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f,
                                                 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0.0f) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; ++j) y[i].scales[j] = static_cast<uint8_t>(nearest_int_rne(iscale * scales[j]));
            y[i].d = fp32_to_fp16(max_scale / q4scale);
        } else {
            for (int j = 0; j < 16; ++j) y[i].scales[j] = 0;
            y[i].d = fp32_to_fp16(0.0f);
        }
        if (max_min > 0.0f) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < 16; ++j)
                y[i].scales[j] |= static_cast<uint8_t>(nearest_int_rne(iscale * mins[j]) << 4);
            y[i].dmin = fp32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = fp32_to_fp16(0.0f);
        }
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(y[i].d) * static_cast<float>(y[i].scales[j] & 0xF);
            if (d == 0.0f) continue;
            const float dm = fp16_to_fp32(y[i].dmin) * static_cast<float>(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = static_cast<uint8_t>(clamp_int(nearest_int_rne((x[16 * j + ii] + dm) / d), 0, 3));
        }
        pack_2bit(L, y[i].qs);
    }
}

void dequantize_row_q2_K(const BlockQ2_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const float min = fp16_to_fp32(x[i].dmin);
        const uint8_t* q = x[i].qs;
        int is = 0;
        for (int n = 0; n < kQK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {  // two 16-element sub-blocks per 32 bytes
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * static_cast<float>(sc & 0xF);
                    const float ml = min * static_cast<float>(sc >> 4);
                    for (int l = 0; l < 16; ++l)
                        *y++ = dl * static_cast<float>((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Q3_K

void quantize_row_q3_K(const float* x, BlockQ3_K* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    int8_t L[kQK_K];
    float scales[16];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max_scale = 0.0f;  // signed scale of largest magnitude
        float amax = 0.0f;
        for (int j = 0; j < 16; ++j) {
            scales[j] = gguf_k::make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            const float a = std::fabs(scales[j]);
            if (a > amax) {
                amax = a;
                max_scale = scales[j];
            }
        }
        if (max_scale != 0.0f) {
            const float iscale = -32.0f / max_scale;
            int ls[16];
            for (int j = 0; j < 16; ++j) {
                // ggml keeps this in an int8_t; the clamp makes that lossless.
                const auto l = static_cast<int8_t>(nearest_int_rne(iscale * scales[j]));
                ls[j] = std::max<int>(-32, std::min<int>(31, l)) + 32;
            }
            pack_scales_q3(ls, y[i].scales);
            y[i].d = fp32_to_fp16(1.0f / iscale);
        } else {
            std::memset(y[i].scales, 0, kKScaleBytes);
            y[i].d = fp32_to_fp16(0.0f);
        }
        for (int j = 0; j < 16; ++j) {
            const int sc = unpack_scale_q3(y[i].scales, j);
            const float d = fp16_to_fp32(y[i].d) * static_cast<float>(sc);
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = static_cast<int8_t>(clamp_int(nearest_int_rne(x[16 * j + ii] / d), -4, 3) + 4);
        }
        gguf_k::pack_q3_codes(L, y[i].hmask, y[i].qs);
    }
}

void dequantize_row_q3_K(const BlockQ3_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const float d_all = fp16_to_fp32(x[i].d);
        const uint8_t* q = x[i].qs;
        const uint8_t* hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < kQK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m = static_cast<uint8_t>(m << 1)) {
                for (int half = 0; half < 2; ++half) {
                    const float dl = d_all * static_cast<float>(unpack_scale_q3(x[i].scales, is++));
                    for (int l = 0; l < 16; ++l) {
                        const int lo = (q[l + 16 * half] >> shift) & 3;
                        const int v = lo - ((hm[l + 16 * half] & m) ? 0 : 4);
                        *y++ = dl * static_cast<float>(v);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- Q4_K

void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_super_block_k4(x, y[i], L, 15, -1.0f, 0.1f, 20);
        gguf_k::pack_q4_codes(L, y[i].qs);
    }
}

void dequantize_row_q4_K(const BlockQ4_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* q = x[i].qs;
        const float d = fp16_to_fp32(x[i].d);
        const float min = fp16_to_fp32(x[i].dmin);
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * static_cast<float>(sc);
            const float m1 = min * static_cast<float>(m);
            unpack_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * static_cast<float>(sc);
            const float m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
        }
    }
}

// ---------------------------------------------------------------- Q5_K

void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    uint8_t L[kQK_K];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        quantize_super_block_k4(x, y[i], L, 31, -0.5f, 0.1f, 15);
        gguf_k::pack_q5_codes(L, y[i].qh, y[i].qs);
    }
}

void dequantize_row_q5_K(const BlockQ5_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const uint8_t* ql = x[i].qs;
        const uint8_t* qh = x[i].qh;
        const float d = fp16_to_fp32(x[i].d);
        const float min = fp16_to_fp32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32) {
            uint8_t sc, m;
            unpack_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * static_cast<float>(sc);
            const float m1 = min * static_cast<float>(m);
            unpack_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * static_cast<float>(sc);
            const float m2 = min * static_cast<float>(m);
            for (int l = 0; l < 32; ++l)
                *y++ = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; ++l)
                *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
            u1 = static_cast<uint8_t>(u1 << 2);
            u2 = static_cast<uint8_t>(u2 << 2);
        }
    }
}

// ---------------------------------------------------------------- Q6_K

void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t k) { quantize_row_q6_K(x, y, k, nullptr); }

// llama.cpp's importance-weighted q6_K fits each sub-block with the importance
// itself as the least-squares weight (x^2 without it); the rest is the reference.
void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t k, const float* importance) {
    const int64_t nb = k / kQK_K;
    int8_t L[kQK_K];
    float scales[16];
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max_scale = 0.0f;
        float max_abs_scale = 0.0f;
        for (int ib = 0; ib < 16; ++ib) {
            const float* qw = importance ? importance + kQK_K * i + 16 * ib : nullptr;
            scales[ib] = gguf_k::make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, qw);
            const float a = std::fabs(scales[ib]);
            if (a > max_abs_scale) {
                max_abs_scale = a;
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < kGroupMaxEps) {
            std::memset(&y[i], 0, sizeof(BlockQ6_K));
            y[i].d = fp32_to_fp16(0.0f);
            continue;
        }
        const float iscale = -128.0f / max_scale;
        y[i].d = fp32_to_fp16(1.0f / iscale);
        for (int ib = 0; ib < 16; ++ib)
            y[i].scales[ib] = static_cast<int8_t>(std::min(127, nearest_int_rne(iscale * scales[ib])));
        for (int j = 0; j < 16; ++j) {
            const float d = fp16_to_fp32(y[i].d) * static_cast<float>(y[i].scales[j]);
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ++ii)
                L[16 * j + ii] = static_cast<int8_t>(clamp_int(nearest_int_rne(x[16 * j + ii] / d), -32, 31) + 32);
        }
        // Per 128 elements: 64 bytes of low nibbles (element l and l+64 share
        // byte l, l+32 and l+96 share byte l+32) and 32 bytes of 2-bit highs.
        uint8_t* ql = y[i].ql;
        uint8_t* qh = y[i].qh;
        for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
                ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
                qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
        }
    }
}

void dequantize_row_q6_K(const BlockQ6_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i) {
        const float d = fp16_to_fp32(x[i].d);
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        const int8_t* sc = x[i].scales;
        for (int n = 0; n < kQK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; ++l) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                // (d * sc) * q, in ggml's order.
                y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
                y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
                y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
                y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
            }
        }
    }
}

// ---------------------------------------------------------------- Q8_K

void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i, x += kQK_K) {
        float max = 0.0f;
        float amax = 0.0f;
        for (int j = 0; j < kQK_K; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            // ggml leaves bsums untouched here; tern zeroes them so the output
            // is fully defined (tests compare d and qs only for such blocks).
            y[i].d = 0.0f;
            std::memset(y[i].qs, 0, kQK_K);
            std::memset(y[i].bsums, 0, sizeof(y[i].bsums));
            continue;
        }
        // -127 (not -128) keeps |q| <= 127 so SIMD dot products can use sign tricks.
        const float iscale = -127.0f / max;
        for (int j = 0; j < kQK_K; ++j) y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int_rne(iscale * x[j])));
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[16 * j + ii];
            y[i].bsums[j] = static_cast<int16_t>(sum);
        }
        y[i].d = 1.0f / iscale;
    }
}

void dequantize_row_q8_K(const BlockQ8_K* x, float* y, int64_t k) {
    const int64_t nb = k / kQK_K;
    for (int64_t i = 0; i < nb; ++i)
        for (int j = 0; j < kQK_K; ++j) *y++ = x[i].d * static_cast<float>(x[i].qs[j]);
}

}  // namespace tern
