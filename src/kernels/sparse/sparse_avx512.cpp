// AVX-512 sparse kernels. CSR decode gathers 16 activations per step (the
// vector fits L1/L2, so a gather is cheap next to the weight stream); CSR with
// several activation rows broadcasts each nonzero against its row of the
// transposed activations. 2:4 expands the 2-bit positions into vpshufb indices
// in registers and feeds the picked activations to vpdpbusd, so the weight
// stream is 0.625 bytes per column.
#include <immintrin.h>

#include <algorithm>

#include "kernels/sparse/csr_rows.h"
#include "kernels/sparse/sparse.h"

namespace tern {
namespace {

__mmask16 first_lanes(int64_t n) { return static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1); }

float csr_f32_row_dot(const CsrF32& w, int64_t r, const float* x) {
    const uint32_t b = w.row_ptr[static_cast<size_t>(r)], e = w.row_ptr[static_cast<size_t>(r) + 1];
    const uint16_t* col = w.col.data();
    const float* val = w.val.data();
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    uint32_t j = b;
    for (; j + 32 <= e; j += 32) {
        const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + j)));
        const __m512i i1 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + j + 16)));
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(val + j), _mm512_i32gather_ps(i0, x, 4), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(val + j + 16), _mm512_i32gather_ps(i1, x, 4), a1);
    }
    for (; j < e; j += 16) {
        const __mmask16 k = first_lanes(e - j);
        const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, col + j));
        const __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, i0, x, 4);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, val + j), xv, a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

int32_t csr_s8_row_dot(const CsrS8& w, int64_t r, const int32_t* x) {
    const uint32_t b = w.row_ptr[static_cast<size_t>(r)], e = w.row_ptr[static_cast<size_t>(r) + 1];
    const uint16_t* col = w.col.data();
    const int8_t* val = w.val.data();
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    uint32_t j = b;
    for (; j + 32 <= e; j += 32) {
        const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + j)));
        const __m512i i1 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + j + 16)));
        const __m512i v0 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(val + j)));
        const __m512i v1 = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(val + j + 16)));
        a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(v0, _mm512_i32gather_epi32(i0, x, 4)));
        a1 = _mm512_add_epi32(a1, _mm512_mullo_epi32(v1, _mm512_i32gather_epi32(i1, x, 4)));
    }
    for (; j < e; j += 16) {
        const __mmask16 k = first_lanes(e - j);
        const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(k, col + j));
        const __m512i xv = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), k, i0, x, 4);
        const __m512i v0 = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, val + j));
        a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(v0, xv));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
}

void csr_f32_avx512(const CsrF32& w, int64_t r0, int64_t r1, const float* xt, int64_t m, float* y, int64_t ldy) {
    if (m == 1) {
        for (int64_t r = r0; r < r1; ++r) y[r] = csr_f32_row_dot(w, r, xt);
        return;
    }
    sparse_detail::csr_multi_rows<16, CsrF32, float, __m512>(
        w, r0, r1, xt, m, first_lanes, [](__m512 a, float v, __m512 x) { return _mm512_fmadd_ps(_mm512_set1_ps(v), x, a); },
        [](__mmask16 k, const float* p) { return _mm512_maskz_loadu_ps(k, p); },
        [&](int64_t r, int64_t i0, const __m512* acc, int64_t cnt) {
            alignas(64) float t[64];
            for (int b = 0; b < 4 && 16 * b < cnt; ++b) _mm512_store_ps(t + 16 * b, acc[b]);
            for (int64_t i = 0; i < cnt; ++i) y[(i0 + i) * ldy + r] = t[i];
        });
}

void csr_s8_avx512(const CsrS8& w, int64_t r0, int64_t r1, const int32_t* xt, const float* x_scale, int64_t m,
                   float* y, int64_t ldy) {
    if (m == 1) {
        for (int64_t r = r0; r < r1; ++r)
            y[r] = static_cast<float>(csr_s8_row_dot(w, r, xt)) * (w.scale[static_cast<size_t>(r)] * x_scale[0]);
        return;
    }
    sparse_detail::csr_multi_rows<16, CsrS8, int32_t, __m512i>(
        w, r0, r1, xt, m, first_lanes,
        [](__m512i a, int8_t v, __m512i x) { return _mm512_add_epi32(a, _mm512_mullo_epi32(_mm512_set1_epi32(v), x)); },
        [](__mmask16 k, const int32_t* p) { return _mm512_maskz_loadu_epi32(k, p); },
        [&](int64_t r, int64_t i0, const __m512i* acc, int64_t cnt) {
            alignas(64) int32_t t[64];
            for (int b = 0; b < 4 && 16 * b < cnt; ++b) _mm512_store_si512(t + 16 * b, acc[b]);
            const float s = w.scale[static_cast<size_t>(r)];
            for (int64_t i = 0; i < cnt; ++i) y[(i0 + i) * ldy + r] = static_cast<float>(t[i]) * (s * x_scale[i0 + i]);
        });
}

// One 2:4 row against one activation row, 128 columns (64 kept values) a step.
// Lane L of the first activation vector holds the columns of values 8L..8L+7,
// of the second those of values 32+8L..; their vpshufb indices come from
// position bytes 2L.. and 8+2L.., widened to words and shifted by a multiply.
int32_t s24_row_dot(const int8_t* v, const uint8_t* p, const uint8_t* x, int64_t k_pad) {
    const __m512i ctl_a = _mm512_broadcast_i32x4(_mm_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 1, -128, 1, -128,
                                                               1, -128, 1, -128));
    // + 2L on the low byte of every word of lane L.
    const __m512i lane_off = _mm512_setr_epi32(0, 0, 0, 0, 0x20002, 0x20002, 0x20002, 0x20002, 0x40004, 0x40004,
                                               0x40004, 0x40004, 0x60006, 0x60006, 0x60006, 0x60006);
    const __m512i ca = _mm512_add_epi8(ctl_a, lane_off);
    const __m512i cb = _mm512_add_epi8(ca, _mm512_set1_epi16(8));
    const __m512i mul = _mm512_broadcast_i32x4(_mm_setr_epi16(64, 16, 4, 1, 64, 16, 4, 1));
    const __m512i base = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12));
    const __m512i qperm = _mm512_setr_epi64(0, 4, 1, 5, 2, 6, 3, 7);
    const __m512i three = _mm512_set1_epi16(3);
    __m512i acc = _mm512_setzero_si512();
    for (int64_t t = 0; t < k_pad / 128; ++t) {
        const __m512i P = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * t)));
        __m512i wa = _mm512_shuffle_epi8(P, ca), wb = _mm512_shuffle_epi8(P, cb);
        wa = _mm512_and_si512(_mm512_srli_epi16(_mm512_mullo_epi16(wa, mul), 6), three);
        wb = _mm512_and_si512(_mm512_srli_epi16(_mm512_mullo_epi16(wb, mul), 6), three);
        const __m512i idx = _mm512_add_epi8(_mm512_packus_epi16(wa, wb), base);
        const __m512i sa = _mm512_shuffle_epi8(_mm512_loadu_si512(x + 128 * t), idx);
        const __m512i sb = _mm512_shuffle_epi8(_mm512_loadu_si512(x + 128 * t + 64), idx);
        const __m512i xs = _mm512_mask_blend_epi8(0xFF00FF00FF00FF00ull, sa, sb);
        const __m512i wv = _mm512_permutexvar_epi64(qperm, _mm512_loadu_si512(v + 64 * t));
        acc = _mm512_dpbusd_epi32(acc, xs, wv);
    }
    return _mm512_reduce_add_epi32(acc);
}

void s24_s8_avx512(const Sparse24S8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                   float* y, int64_t ldy) {
    const int64_t vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    for (int64_t r = r0; r < r1; ++r)
        for (int64_t i = 0; i < m; ++i) {
            const int32_t dot = s24_row_dot(w.val.data() + r * vals, w.pos.data() + r * pbytes, xu + i * w.k_pad, w.k_pad);
            const int32_t acc = dot - 128 * w.row_sum[static_cast<size_t>(r)];
            // (acc · row scale) · activation scale: w8a8_matmul's order, so a sparse24_q8 Linear gives
            // bit-for-bit the w8a8 path's outputs (ops/linear_sparse24.h).
            y[i * ldy + r] = (static_cast<float>(acc) * w.scale[static_cast<size_t>(r)]) * x_scale[i];
        }
}

// One bitmap row against one activation row (u8, +128). With AVX512-VBMI2
// (Ice Lake, Zen 4 and later) vpexpandb puts a block's 64 packed values in
// place for one vpdpbusd; without it (Cooper Lake) the AVX2 kernel runs.
__attribute__((target("avx512vbmi2"))) int32_t bitmap_row_dot_vbmi2(const uint64_t* mask, const int8_t* v,
                                                                     const uint8_t* x, int64_t blocks) {
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        const uint64_t m0 = mask[b], m1 = mask[b + 1];
        const __m512i w0 = _mm512_maskz_expand_epi8(m0, _mm512_loadu_si512(v));
        v += __builtin_popcountll(m0);
        const __m512i w1 = _mm512_maskz_expand_epi8(m1, _mm512_loadu_si512(v));
        v += __builtin_popcountll(m1);
        a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(x + 64 * b), w0);
        a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(x + 64 * b + 64), w1);
    }
    if (b < blocks) a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(x + 64 * b), _mm512_maskz_expand_epi8(mask[b], _mm512_loadu_si512(v)));
    return _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));
}

void bitmap_s8_avx512(const BitmapS8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                      float* y, int64_t ldy) {
    static const bool vbmi2 = __builtin_cpu_supports("avx512vbmi2");
    if (!vbmi2) {
        kSparseAvx2.bitmap_s8(w, r0, r1, xu, x_scale, m, y, ldy);
        return;
    }
    sparse_detail::bitmap_rows(w, r0, r1, xu, x_scale, m, y, ldy, bitmap_row_dot_vbmi2);
}


// 16 groups of one 2:4 row as 16 dense dwords (quads g0..g0+15): dword j of the
// codes holds val[2g] | val[2g+1] << 8; vpermd picks, by the group's position
// nibble, a vpshufb control that puts byte 0 at p0, byte 1 at p1 and zeros
// elsewhere (bit 7 set), offset to the dword's place in its 128-bit lane.
inline __m512i s24_expand16(const int8_t* v, const uint8_t* p, __m512i lut, __m512i lane_base, __m512i nib_shift) {
    const __m512i src = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v)));
    const __m128i pb = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    const __m512i nib = _mm512_srlv_epi32(_mm512_cvtepu8_epi32(_mm_unpacklo_epi8(pb, pb)), nib_shift);
    const __m512i ctl = _mm512_add_epi32(_mm512_permutexvar_epi32(nib, lut), lane_base);  // vpermd reads bits 0-3
    return _mm512_shuffle_epi8(src, ctl);
}

// r[i] = dword j of row i -> r[j] = dword i of row j (a 16 x 16 dword transpose).
inline void transpose16x16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    // u[4G + j], lane L: dword 4L + j of rows 4G..4G+3.
    __m512i u[16];
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int j = 0; j < 4; ++j) {
        const __m512i a = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x44), b = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x44);
        const __m512i c = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xEE), d = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xEE);
        r[j] = _mm512_shuffle_i32x4(a, b, 0x88);
        r[4 + j] = _mm512_shuffle_i32x4(a, b, 0xDD);
        r[8 + j] = _mm512_shuffle_i32x4(c, d, 0x88);
        r[12 + j] = _mm512_shuffle_i32x4(c, d, 0xDD);
    }
}

// Blocks of 16 rows x 16 groups: expanded per row, transposed, stored as 16
// full 64-byte rows of the panel (quad q, columns c0..c0+15).
void s24_densify_avx512(const Sparse24S8& w, int64_t r0, int cols, int nr, int8_t* dst) {
    if (nr % 16 != 0) {
        s24_densify_scalar(w, r0, cols, nr, dst);
        return;
    }
    // Nibble p0 | p1 << 2 -> bytes (0 at p0, 1 at p1, 0x80 elsewhere); p0 == p1 keeps byte 0.
    alignas(64) static constexpr int32_t kCtl[16] = {
        int32_t(0x80808000), int32_t(0x80800001), int32_t(0x80008001), int32_t(0x00808001),
        int32_t(0x80800100), int32_t(0x80800080), int32_t(0x80000180), int32_t(0x00800180),
        int32_t(0x80018000), int32_t(0x80010080), int32_t(0x80008080), int32_t(0x00018080),
        int32_t(0x01808000), int32_t(0x01800080), int32_t(0x01008080), int32_t(0x00808080),
    };
    const __m512i lut = _mm512_load_si512(kCtl);
    const __m512i lane_base = _mm512_set4_epi32(0x0C0C0C0C, 0x08080808, 0x04040404, 0);
    const __m512i nib_shift = _mm512_set4_epi32(4, 0, 4, 0);
    const int64_t quads = w.k_pad / 4, vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    for (int c0 = 0; c0 < nr; c0 += 16) {
        const int live = std::clamp(cols - c0, 0, 16);
        if (live == 0) {
            for (int64_t q = 0; q < quads; ++q) _mm512_store_si512(dst + (q * nr + c0) * 4, _mm512_setzero_si512());
            continue;
        }
        for (int64_t g0 = 0; g0 < quads; g0 += 16) {  // quads: a multiple of 32 (k_pad of 128)
            __m512i r[16];
            for (int i = 0; i < 16; ++i) {
                const int64_t row = r0 + c0 + i;
                r[i] = i < live ? s24_expand16(w.val.data() + row * vals + 2 * g0, w.pos.data() + row * pbytes + g0 / 2,
                                               lut, lane_base, nib_shift)
                                : _mm512_setzero_si512();
            }
            transpose16x16(r);
            for (int q = 0; q < 16; ++q) _mm512_store_si512(dst + ((g0 + q) * nr + c0) * 4, r[q]);
        }
    }
}
}  // namespace

const SparseKernels kSparseAvx512 = {
    .name = "sparse_avx512",
    .isa = Isa::avx512,
    .csr_f32 = csr_f32_avx512,
    .csr_s8 = csr_s8_avx512,
    .s24_s8 = s24_s8_avx512,
    .bitmap_s8 = bitmap_s8_avx512,
    .s24_densify = s24_densify_avx512,
};

}  // namespace tern
