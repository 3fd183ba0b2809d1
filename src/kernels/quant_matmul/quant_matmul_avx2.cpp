// AVX2 quantized matmul: maddubs (u8 × s8 → s16 pairs) + madd into int32, 8 rows
// per vector (two per tile). Codes are at most 6 bits, so pair sums stay below
// 2·63·127 and never saturate; q8_0 uses the sign trick (|w| × sign(w)·a).
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

#include "core/half.h"
#include "kernels/gemm_common/gemm_blocking.h"
#include "kernels/quant_matmul/layout.h"
#include "kernels/quant_matmul/quant_matmul.h"

namespace tern {
namespace {

using namespace qmm;

struct Ops256 {
    using I = __m256i;
    using F = __m256;
    static constexpr int kLanes = 8, kBytes = 32, kVecPerTile = 2;
    // 4 activation rows × 1 tile (2 vectors) per micro-tile: with 16 ymm registers
    // the 8 i16 runs, 2 weight vectors and a broadcast fit (q8_0: 8 int32 sums, 2
    // |w|, 2 w), where 3 rows × 2 tiles (12 runs + 12 sums) spilled. With the
    // pinned sums below, M = 512 k 2048 n 5632, 1 thread, Zen 3, min of 4-7 runs
    // (ms; 3 × 2 unpinned → 3 × 2 pinned → 4 × 1 pinned): q4_0 116 → 83 → 71, q4_K
    // 121 → 93 → 69, int4-g128 146 → 88 → 80, q8_0 113 → 131 → 120 (medians 172 →
    // 149 → 123), q6_K 90 → 90 → 87.
    static constexpr int kNT = 1;
    static constexpr int kMR = 4;
    // GCC (12, -O3) computed every product of a fully unrolled micro-tile first,
    // parked them on the stack and summed them afterwards (130-250 ymm spill
    // stores per micro-tile); an empty asm that "rewrites" each running sum after
    // its add keeps the sums in registers and the products next to their adds.
    static constexpr bool kPinSums = true;
    static constexpr bool kSignedQ8 = true;

    static I load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
    static void store_i(void* p, I x) { _mm256_storeu_si256(static_cast<__m256i*>(p), x); }
    static I zero_i() { return _mm256_setzero_si256(); }
    static F zero_f() { return _mm256_setzero_ps(); }
    static I sub8(I x, int v) { return _mm256_sub_epi8(x, _mm256_set1_epi8(static_cast<char>(v))); }
    static I and8(I x, int m) { return _mm256_and_si256(x, _mm256_set1_epi8(static_cast<char>(m))); }
    static I and32(I x, int m) { return _mm256_and_si256(x, _mm256_set1_epi32(m)); }
    static I or_(I a, I b) { return _mm256_or_si256(a, b); }
    static I srl16(I x, int s) { return _mm256_srli_epi16(x, s); }
    static I sll16(I x, int s) { return _mm256_slli_epi16(x, s); }
    static I srli32(I x, int s) { return _mm256_srli_epi32(x, s); }
    static I slli32(I x, int s) { return _mm256_slli_epi32(x, s); }
    static I srai32(I x, int s) { return _mm256_srai_epi32(x, s); }
    static I bcast32(const int8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm256_set1_epi32(v);
    }
    template <bool kSigned>
    static I dot(I acc, I u, I s) {
        __m256i p;
        if constexpr (kSigned) {
            const __m256i w = _mm256_xor_si256(u, _mm256_set1_epi8(static_cast<char>(0x80)));
            p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(s, w));
        } else {
            p = _mm256_maddubs_epi16(u, s);
        }
        return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    }
    static I dot_i16(I acc, I a, I b) { return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b)); }
    // i16 runs of maddubs results (pair16_run in quant_matmul_simd.inc).
    static constexpr bool kPairSum16 = true;
    static I pair16(I u, I s) { return _mm256_maddubs_epi16(u, s); }
    static I add16(I a, I b) { return _mm256_add_epi16(a, b); }
    static I widen16(I acc, I s16) { return _mm256_add_epi32(acc, _mm256_madd_epi16(s16, _mm256_set1_epi16(1))); }
    static I widen16_by(I acc, I s16, I mul) { return _mm256_add_epi32(acc, _mm256_madd_epi16(s16, mul)); }
    // K-quant sub-block scales ride the run's widening vpmaddwd (kScaleInMadd in
    // quant_matmul_simd.inc), so they are wanted as i16 lanes 2n, 2n+1 = row n's.
    static constexpr bool kScaleInMadd = true;
    // A 16-row pair array (32 bytes, row n's (even, odd) bytes at 2n) loaded with its
    // 64-bit quarters as rows 0-3, 8-11 | 4-7, 12-15, so that the in-lane unpacks
    // below give rows 0-7 (tile vector 0) and rows 8-15 (vector 1) in row order.
    static I load_pairs_rows16(const uint8_t* p) { return _mm256_permute4x64_epi64(load(p), 0xD8); }
    // i16 lane n (row n) of such a vector into both i16 lanes of int32 lane n.
    static I dup16_rows_lo(I x) { return _mm256_unpacklo_epi16(x, x); }
    static I dup16_rows_hi(I x) { return _mm256_unpackhi_epi16(x, x); }
    // Byte pairs of rows 0-7 / 8-15 zero-extended to i16 lanes 2n, 2n+1.
    static I zext8_rows_lo(I x) { return _mm256_unpacklo_epi8(x, _mm256_setzero_si256()); }
    static I zext8_rows_hi(I x) { return _mm256_unpackhi_epi8(x, _mm256_setzero_si256()); }
    static I and16(I x, int m) { return _mm256_and_si256(x, _mm256_set1_epi16(static_cast<short>(m))); }
    // From 8 rows' (even, odd) byte pairs at p: byte `odd` of row n in both i16
    // lanes of int32 lane n, sign-extended (kSigned) or zero-extended. One
    // broadcast load serves both bytes; vpshufb stays inside 128-bit lanes, so
    // the low lane reads rows 0-3 and the high lane rows 4-7 of the same copy.
    template <bool kSigned>
    static I pair_byte_dup16(const uint8_t* p, int odd) {
        alignas(32) static constexpr auto kCtrl = [] {
            std::array<std::array<int8_t, 32>, 2> c{};
            for (int o = 0; o < 2; ++o)
                for (int b = 0; b < 32; ++b) {
                    const int row = (b / 16) * 4 + (b % 16) / 4;  // int32 lane = row
                    const bool data_byte = kSigned ? (b % 2 == 1) : (b % 2 == 0);
                    c[o][b] = static_cast<int8_t>(data_byte ? 2 * row + o : -128);  // -128: zero
                }
            return c;
        }();
        const __m256i pairs = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        const __m256i x = _mm256_shuffle_epi8(pairs, _mm256_load_si256(reinterpret_cast<const __m256i*>(kCtrl[odd].data())));
        return kSigned ? _mm256_srai_epi16(x, 8) : x;
    }
    static I set1_i(int v) { return _mm256_set1_epi32(v); }
    static F set1_f(float v) { return _mm256_set1_ps(v); }
    static I add32(I a, I b) { return _mm256_add_epi32(a, b); }
    static I sub32(I a, I b) { return _mm256_sub_epi32(a, b); }
    static I mullo(I a, I b) { return _mm256_mullo_epi32(a, b); }
    static F cvt(I x) { return _mm256_cvtepi32_ps(x); }
    static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
    static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
    static F add_f(F a, F b) { return _mm256_add_ps(a, b); }
    static F load_f16(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static I load_u8_i32(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
    static I load_i16_i32(const uint8_t* p) { return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static I load_s8_i16(const uint8_t* p) { return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static I load_u8_i16(const uint8_t* p) { return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
    static void store_partial(float* p, F v, int n) {
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        _mm256_maskstore_ps(p, m, v);
    }

    static float abs_max(const float* x, int n) {
        const __m256 sign = _mm256_set1_ps(-0.0f);
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        return _mm_cvtss_f32(h);
    }
    static void quantize_block(const float* x, int8_t* q, int n, float id) {
        const __m256 vid = _mm256_set1_ps(id);
        const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (int i = 0; i < n; i += 32) {
            __m256i v[4];
            for (int j = 0; j < 4; ++j) v[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vid));
            const __m256i ab = _mm256_packs_epi32(v[0], v[1]), cd = _mm256_packs_epi32(v[2], v[3]);
            const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(ab, cd), perm);
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), b);
        }
    }
    // u[i] = q[i] + 128 as u8 (flip the sign bit); n is a multiple of 32.
    static void offset_u8(const int8_t* q, uint8_t* u, int64_t n) {
        for (int64_t i = 0; i < n; i += 32)
            _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + i),
                                _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + i)),
                                                 _mm256_set1_epi8(static_cast<char>(0x80))));
    }
    static int32_t sum_s8(const int8_t* q, int n) {
        __m256i s = _mm256_setzero_si256();
        for (int i = 0; i < n; i += 16) {
            const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i)));
            s = _mm256_add_epi32(s, _mm256_madd_epi16(w, _mm256_set1_epi16(1)));
        }
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        return _mm_cvtsi128_si32(h);
    }
};

using V = Ops256;
#include "kernels/quant_matmul/quant_matmul_simd.inc"

}  // namespace

const QuantMatmulKernels kQuantMatmulAvx2 = {
    .name = "quant_matmul_avx2",
    .isa = Isa::avx2,
    .quantize_acts = quantize_acts_simd,
    .matmul_q8 = matmul_q8_simd,
    .matmul_f32 = matmul_f32_simd,
};

}  // namespace tern
