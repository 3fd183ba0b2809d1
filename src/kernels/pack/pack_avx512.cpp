// AVX-512 pack: 16 units (64 bytes) of four rows per step.
#include <immintrin.h>

#include <cstring>

#include "kernels/pack/pack.h"

namespace tern {
namespace {

struct P {
    using I = __m512i;
    static constexpr int kUnits = 16;
    static I load(const uint8_t* p) { return _mm512_loadu_si512(p); }
    static I unpacklo32(I a, I b) { return _mm512_unpacklo_epi32(a, b); }
    static I unpackhi32(I a, I b) { return _mm512_unpackhi_epi32(a, b); }
    static I unpacklo64(I a, I b) { return _mm512_unpacklo_epi64(a, b); }
    static I unpackhi64(I a, I b) { return _mm512_unpackhi_epi64(a, b); }
    static void store_lane(uint8_t* p, I x, int lane) {
        __m128i v;
        switch (lane) {
            case 0: v = _mm512_extracti32x4_epi32(x, 0); break;
            case 1: v = _mm512_extracti32x4_epi32(x, 1); break;
            case 2: v = _mm512_extracti32x4_epi32(x, 2); break;
            default: v = _mm512_extracti32x4_epi32(x, 3); break;
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
    }
};

#include "kernels/pack/pack_simd.inc"

}  // namespace

const PackKernels kPackAvx512 = {
    .name = "pack_avx512",
    .isa = Isa::avx512,
    .rows_u32 = rows_u32_simd,
};

}  // namespace tern
