// AVX2 sparse kernels: the AVX-512 scheme at 8 lanes (gathers for CSR decode,
// broadcasts for several activation rows, in-register 2:4 index expansion),
// with vpmaddwd on widened bytes where AVX-512 has vpdpbusd.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/sparse/csr_rows.h"
#include "kernels/sparse/sparse.h"

namespace tern {
namespace {

float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

int32_t hsum(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

__m256i cols8(const uint16_t* c) { return _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c))); }

float csr_f32_row_dot(const CsrF32& w, int64_t r, const float* x) {
    const uint32_t b = w.row_ptr[static_cast<size_t>(r)], e = w.row_ptr[static_cast<size_t>(r) + 1];
    const uint16_t* col = w.col.data();
    const float* val = w.val.data();
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    uint32_t j = b;
    for (; j + 16 <= e; j += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(val + j), _mm256_i32gather_ps(x, cols8(col + j), 4), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(val + j + 8), _mm256_i32gather_ps(x, cols8(col + j + 8), 4), a1);
    }
    for (; j + 8 <= e; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(val + j), _mm256_i32gather_ps(x, cols8(col + j), 4), a0);
    float acc = hsum(_mm256_add_ps(a0, a1));
    for (; j < e; ++j) acc += val[j] * x[col[j]];
    return acc;
}

int32_t csr_s8_row_dot(const CsrS8& w, int64_t r, const int32_t* x) {
    const uint32_t b = w.row_ptr[static_cast<size_t>(r)], e = w.row_ptr[static_cast<size_t>(r) + 1];
    const uint16_t* col = w.col.data();
    const int8_t* val = w.val.data();
    __m256i a0 = _mm256_setzero_si256();
    uint32_t j = b;
    for (; j + 8 <= e; j += 8) {
        const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(val + j)));
        a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(v, _mm256_i32gather_epi32(x, cols8(col + j), 4)));
    }
    int32_t acc = hsum(a0);
    for (; j < e; ++j) acc += val[j] * x[col[j]];
    return acc;
}

// Lanes [0, n) of an 8-lane vector, for maskload.
__m256i lane_mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(std::min<int64_t>(n, 8))),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

void csr_f32_avx2(const CsrF32& w, int64_t r0, int64_t r1, const float* xt, int64_t m, float* y, int64_t ldy) {
    if (m == 1) {
        for (int64_t r = r0; r < r1; ++r) y[r] = csr_f32_row_dot(w, r, xt);
        return;
    }
    sparse_detail::csr_multi_rows<8, CsrF32, float, __m256>(
        w, r0, r1, xt, m, lane_mask, [](__m256 a, float v, __m256 x) { return _mm256_fmadd_ps(_mm256_set1_ps(v), x, a); },
        [](__m256i k, const float* p) { return _mm256_maskload_ps(p, k); },
        [&](int64_t r, int64_t i0, const __m256* acc, int64_t cnt) {
            alignas(32) float t[32];
            for (int b = 0; b < 4 && 8 * b < cnt; ++b) _mm256_store_ps(t + 8 * b, acc[b]);
            for (int64_t i = 0; i < cnt; ++i) y[(i0 + i) * ldy + r] = t[i];
        });
}

void csr_s8_avx2(const CsrS8& w, int64_t r0, int64_t r1, const int32_t* xt, const float* x_scale, int64_t m, float* y,
                 int64_t ldy) {
    if (m == 1) {
        for (int64_t r = r0; r < r1; ++r)
            y[r] = static_cast<float>(csr_s8_row_dot(w, r, xt)) * (w.scale[static_cast<size_t>(r)] * x_scale[0]);
        return;
    }
    sparse_detail::csr_multi_rows<8, CsrS8, int32_t, __m256i>(
        w, r0, r1, xt, m, lane_mask,
        [](__m256i a, int8_t v, __m256i x) { return _mm256_add_epi32(a, _mm256_mullo_epi32(_mm256_set1_epi32(v), x)); },
        [](__m256i k, const int32_t* p) { return _mm256_maskload_epi32(p, k); },
        [&](int64_t r, int64_t i0, const __m256i* acc, int64_t cnt) {
            alignas(32) int32_t t[32];
            for (int b = 0; b < 4 && 8 * b < cnt; ++b) _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8 * b), acc[b]);
            const float s = w.scale[static_cast<size_t>(r)];
            for (int64_t i = 0; i < cnt; ++i) y[(i0 + i) * ldy + r] = static_cast<float>(t[i]) * (s * x_scale[i0 + i]);
        });
}

// One 2:4 row against one activation row, 64 columns (32 kept values) a step:
// lane L of the first activation vector serves values 8L..8L+7 (position bytes
// 2L..), of the second values 16+8L.. (bytes 4+2L..).
int32_t s24_row_dot(const int8_t* v, const uint8_t* p, const uint8_t* x, int64_t k_pad) {
    const __m256i ca = _mm256_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 1, -128, 1, -128, 1, -128, 1, -128,  //
                                        2, -128, 2, -128, 2, -128, 2, -128, 3, -128, 3, -128, 3, -128, 3, -128);
    const __m256i cb = _mm256_add_epi8(ca, _mm256_set1_epi16(4));
    const __m256i mul = _mm256_setr_epi16(64, 16, 4, 1, 64, 16, 4, 1, 64, 16, 4, 1, 64, 16, 4, 1);
    const __m256i base = _mm256_setr_epi8(0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12,  //
                                          0, 0, 4, 4, 8, 8, 12, 12, 0, 0, 4, 4, 8, 8, 12, 12);
    const __m256i three = _mm256_set1_epi16(3);
    __m256i acc = _mm256_setzero_si256();
    for (int64_t t = 0; t < k_pad / 64; ++t) {
        int64_t pos8;
        __builtin_memcpy(&pos8, p + 8 * t, 8);
        const __m256i P = _mm256_set1_epi64x(pos8);
        __m256i wa = _mm256_shuffle_epi8(P, ca), wb = _mm256_shuffle_epi8(P, cb);
        wa = _mm256_and_si256(_mm256_srli_epi16(_mm256_mullo_epi16(wa, mul), 6), three);
        wb = _mm256_and_si256(_mm256_srli_epi16(_mm256_mullo_epi16(wb, mul), 6), three);
        const __m256i idx = _mm256_add_epi8(_mm256_packus_epi16(wa, wb), base);
        const __m256i sa = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * t)), idx);
        const __m256i sb = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 64 * t + 32)), idx);
        const __m256i xs = _mm256_blend_epi32(sa, sb, 0b11001100);
        const __m256i wv = _mm256_permute4x64_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + 32 * t)),
                                                    _MM_SHUFFLE(3, 1, 2, 0));
        // u8 x s8 widened to words: vpmaddubsw would saturate at 255 * 127 * 2.
        const __m256i x0 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(xs));
        const __m256i x1 = _mm256_cvtepu8_epi16(_mm256_extracti128_si256(xs, 1));
        const __m256i w0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wv));
        const __m256i w1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(wv, 1));
        acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(x0, w0), _mm256_madd_epi16(x1, w1)));
    }
    return hsum(acc);
}

void s24_s8_avx2(const Sparse24S8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
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

// vpshufb controls that expand packed bytes by an 8-bit mask: entry m puts
// byte j of the packed run at each set bit j' of m (j = set bits below j'),
// 0x80 (zero) at clear bits.
struct ExpandTable {
    uint64_t ctl[256];
    constexpr ExpandTable() : ctl{} {
        for (int m = 0; m < 256; ++m) {
            uint64_t c = 0;
            int j = 0;
            for (int bit = 0; bit < 8; ++bit) c |= static_cast<uint64_t>(m >> bit & 1 ? j++ : 0x80) << (8 * bit);
            ctl[m] = c;
        }
    }
};
constexpr ExpandTable kExpand;

// One bitmap row against one activation row, 16 columns a step.
int32_t bitmap_row_dot(const uint64_t* mask, const int8_t* v, const uint8_t* x, int64_t blocks) {
    __m256i acc = _mm256_setzero_si256();
    for (int64_t b = 0; b < blocks; ++b)
        for (int q = 0; q < 4; ++q) {
            const unsigned m16 = static_cast<unsigned>(mask[b] >> (16 * q)) & 0xFFFF;
            const unsigned lo = m16 & 0xFF, hi = m16 >> 8;
            const int pc_lo = __builtin_popcount(lo);
            const __m128i ctl = _mm_add_epi8(_mm_set_epi64x(static_cast<int64_t>(kExpand.ctl[hi]), static_cast<int64_t>(kExpand.ctl[lo])),
                                             _mm_set_epi64x(0x0101010101010101ll * pc_lo, 0));
            const __m128i wv = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)), ctl);
            v += pc_lo + __builtin_popcount(hi);
            const __m256i xv = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + 64 * b + 16 * q)));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(xv, _mm256_cvtepi8_epi16(wv)));
        }
    return hsum(acc);
}

void bitmap_s8_avx2(const BitmapS8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                    float* y, int64_t ldy) {
    sparse_detail::bitmap_rows(w, r0, r1, xu, x_scale, m, y, ldy, bitmap_row_dot);
}


// 8 groups of one 2:4 row as 8 dense dwords (quads g0..g0+7) by variable shifts
// (AVX2 has no 16-entry dword lookup): byte p1 gets val[2g+1], then byte p0
// val[2g] over it, as the reference orders them.
inline __m256i s24_expand8(const int8_t* v, const uint8_t* p) {
    const __m256i src = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
    int32_t p4;
    std::memcpy(&p4, p, 4);
    const __m128i pb = _mm_cvtsi32_si128(p4);
    const __m256i nib = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(_mm_unpacklo_epi8(pb, pb)),
                                                           _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4)),
                                         _mm256_set1_epi32(15));
    const __m256i s0 = _mm256_slli_epi32(_mm256_and_si256(nib, _mm256_set1_epi32(3)), 3);
    const __m256i s1 = _mm256_slli_epi32(_mm256_srli_epi32(nib, 2), 3);
    const __m256i c0 = _mm256_and_si256(src, _mm256_set1_epi32(0xFF)), c1 = _mm256_srli_epi32(src, 8);
    const __m256i hi = _mm256_andnot_si256(_mm256_sllv_epi32(_mm256_set1_epi32(0xFF), s0), _mm256_sllv_epi32(c1, s1));
    return _mm256_or_si256(hi, _mm256_sllv_epi32(c0, s0));
}

// Blocks of 8 rows x 8 groups: expanded per row, transposed (8 x 8 dwords),
// stored as 8 full 32-byte rows of the panel (quad q, columns c0..c0+7).
void s24_densify_avx2(const Sparse24S8& w, int64_t r0, int cols, int nr, int8_t* dst) {
    if (nr % 8 != 0) {
        s24_densify_scalar(w, r0, cols, nr, dst);
        return;
    }
    const int64_t quads = w.k_pad / 4, vals = w.k_pad / 2, pbytes = w.k_pad / 8;
    for (int c0 = 0; c0 < nr; c0 += 8) {
        const int live = std::clamp(cols - c0, 0, 8);
        if (live == 0) {
            for (int64_t q = 0; q < quads; ++q)
                _mm256_store_si256(reinterpret_cast<__m256i*>(dst + (q * nr + c0) * 4), _mm256_setzero_si256());
            continue;
        }
        for (int64_t g0 = 0; g0 < quads; g0 += 8) {
            __m256i r[8];
            for (int i = 0; i < 8; ++i) {
                const int64_t row = r0 + c0 + i;
                r[i] = i < live ? s24_expand8(w.val.data() + row * vals + 2 * g0, w.pos.data() + row * pbytes + g0 / 2)
                                : _mm256_setzero_si256();
            }
            __m256i t[8], u[8];
            for (int i = 0; i < 8; i += 2) {
                t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
                t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
            }
            // u[4G + j], lane L: dword 4L + j of rows 4G..4G+3.
            for (int g = 0; g < 8; g += 4) {
                u[g] = _mm256_unpacklo_epi64(t[g], t[g + 2]);
                u[g + 1] = _mm256_unpackhi_epi64(t[g], t[g + 2]);
                u[g + 2] = _mm256_unpacklo_epi64(t[g + 1], t[g + 3]);
                u[g + 3] = _mm256_unpackhi_epi64(t[g + 1], t[g + 3]);
            }
            for (int j = 0; j < 4; ++j) {
                _mm256_store_si256(reinterpret_cast<__m256i*>(dst + ((g0 + j) * nr + c0) * 4),
                                   _mm256_permute2x128_si256(u[j], u[4 + j], 0x20));
                _mm256_store_si256(reinterpret_cast<__m256i*>(dst + ((g0 + 4 + j) * nr + c0) * 4),
                                   _mm256_permute2x128_si256(u[j], u[4 + j], 0x31));
            }
        }
    }
}
}  // namespace

const SparseKernels kSparseAvx2 = {
    .name = "sparse_avx2",
    .isa = Isa::avx2,
    .csr_f32 = csr_f32_avx2,
    .csr_s8 = csr_s8_avx2,
    .s24_s8 = s24_s8_avx2,
    .bitmap_s8 = bitmap_s8_avx2,
    .s24_densify = s24_densify_avx2,
};

}  // namespace tern
