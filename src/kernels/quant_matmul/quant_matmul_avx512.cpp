// AVX-512 (F/BW/VL/DQ + VNNI) quantized matmul: vpdpbusd inner loop, 16 rows
// per vector (one per tile).
#include <immintrin.h>

#include <algorithm>
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

struct Ops512 {
    using I = __m512i;
    using F = __m512;
    static constexpr int kLanes = 16, kBytes = 64, kVecPerTile = 1;
    static constexpr int kNT = 2;      // tiles per micro-tile
    // No pin (see quant_matmul_avx2.cpp): with 32 zmm registers GCC already keeps
    // every vpdpbusd sum in a register (the assembly's only zmm stores are the
    // fp32 accumulators around the loop).
    static constexpr bool kPinSums = false;
    static constexpr int kMR = 4;      // activation rows per GEMM micro-tile (× 2 tiles)
    static constexpr bool kSignedQ8 = false;

    static I load(const void* p) { return _mm512_loadu_si512(p); }
    static void store_i(void* p, I x) { _mm512_storeu_si512(p, x); }
    static I zero_i() { return _mm512_setzero_si512(); }
    static F zero_f() { return _mm512_setzero_ps(); }
    static I sub8(I x, int v) { return _mm512_sub_epi8(x, _mm512_set1_epi8(static_cast<char>(v))); }
    static I and8(I x, int m) { return _mm512_and_si512(x, _mm512_set1_epi8(static_cast<char>(m))); }
    static I and32(I x, int m) { return _mm512_and_si512(x, _mm512_set1_epi32(m)); }
    static I or_(I a, I b) { return _mm512_or_si512(a, b); }
    static I srl16(I x, int s) { return _mm512_srli_epi16(x, static_cast<unsigned>(s)); }
    static I sll16(I x, int s) { return _mm512_slli_epi16(x, static_cast<unsigned>(s)); }
    static I srli32(I x, int s) { return _mm512_srli_epi32(x, static_cast<unsigned>(s)); }
    static I slli32(I x, int s) { return _mm512_slli_epi32(x, static_cast<unsigned>(s)); }
    static I srai32(I x, int s) { return _mm512_srai_epi32(x, static_cast<unsigned>(s)); }
    static I bcast32(const int8_t* p) {
        int32_t v;
        std::memcpy(&v, p, 4);
        return _mm512_set1_epi32(v);
    }
    template <bool kSigned>
    static I dot(I acc, I u, I s) { return _mm512_dpbusd_epi32(acc, u, s); }
    static I dot_i16(I acc, I a, I b) { return _mm512_dpwssd_epi32(acc, a, b); }
    // VNNI's vpdpbusd is one instruction: no i16 runs (pair16_run).
    static constexpr bool kPairSum16 = false;
    static I pair16(I u, I s) { return _mm512_maddubs_epi16(u, s); }
    static I add16(I a, I b) { return _mm512_add_epi16(a, b); }
    static I widen16(I acc, I s16) { return _mm512_add_epi32(acc, _mm512_madd_epi16(s16, _mm512_set1_epi16(1))); }
    static I widen16_by(I acc, I s16, I mul) { return _mm512_add_epi32(acc, _mm512_madd_epi16(s16, mul)); }
    // vpdpbusd sums straight into int32: no widening madd for a scale to ride.
    static constexpr bool kScaleInMadd = false;
    static I set1_i(int v) { return _mm512_set1_epi32(v); }
    static F set1_f(float v) { return _mm512_set1_ps(v); }
    static I add32(I a, I b) { return _mm512_add_epi32(a, b); }
    static I sub32(I a, I b) { return _mm512_sub_epi32(a, b); }
    static I mullo(I a, I b) { return _mm512_mullo_epi32(a, b); }
    static F cvt(I x) { return _mm512_cvtepi32_ps(x); }
    static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
    static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
    static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
    static F add_f(F a, F b) { return _mm512_add_ps(a, b); }
    static F load_f16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static I load_u8_i32(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static I load_i16_i32(const uint8_t* p) {
        return _mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    }
    static I load_s8_i16(const uint8_t* p) { return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static I load_u8_i16(const uint8_t* p) { return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
    static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
    static void store_partial(float* p, F v, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v); }

    static float abs_max(const float* x, int n) {
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
        return _mm512_reduce_max_ps(m);
    }
    static void quantize_block(const float* x, int8_t* q, int n, float id) {
        const __m512 vid = _mm512_set1_ps(id);
        for (int i = 0; i < n; i += 16) {
            const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), vid));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtsepi32_epi8(v));
        }
    }
    // u[i] = q[i] + 128 as u8 (flip the sign bit); n is a multiple of 64.
    static void offset_u8(const int8_t* q, uint8_t* u, int64_t n) {
        for (int64_t i = 0; i < n; i += 64)
            _mm512_storeu_si512(u + i, _mm512_xor_si512(_mm512_loadu_si512(q + i), _mm512_set1_epi8(static_cast<char>(0x80))));
    }
    static int32_t sum_s8(const int8_t* q, int n) {
        __m512i s = _mm512_setzero_si512();
        for (int i = 0; i < n; i += 16)
            s = _mm512_add_epi32(s, _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + i))));
        return _mm512_reduce_add_epi32(s);
    }
};

using V = Ops512;
#include "kernels/quant_matmul/quant_matmul_simd.inc"

}  // namespace

const QuantMatmulKernels kQuantMatmulAvx512 = {
    .name = "quant_matmul_avx512vnni",
    .isa = Isa::avx512,
    .quantize_acts = quantize_acts_simd,
    .matmul_q8 = matmul_q8_simd,
    .matmul_f32 = matmul_f32_simd,
};

}  // namespace tern
