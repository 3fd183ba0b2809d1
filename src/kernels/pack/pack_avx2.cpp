// AVX2 pack: 8 units (32 bytes) of four rows per step.
#include <immintrin.h>

#include <cstring>

#include "kernels/pack/pack.h"

namespace tern {
namespace {

struct P {
    using I = __m256i;
    static constexpr int kUnits = 8;
    static I load(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static I unpacklo32(I a, I b) { return _mm256_unpacklo_epi32(a, b); }
    static I unpackhi32(I a, I b) { return _mm256_unpackhi_epi32(a, b); }
    static I unpacklo64(I a, I b) { return _mm256_unpacklo_epi64(a, b); }
    static I unpackhi64(I a, I b) { return _mm256_unpackhi_epi64(a, b); }
    static void store_lane(uint8_t* p, I x, int lane) {
        const __m128i v = lane == 0 ? _mm256_castsi256_si128(x) : _mm256_extracti128_si256(x, 1);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
    }
};

#include "kernels/pack/pack_simd.inc"

}  // namespace

const PackKernels kPackAvx2 = {
    .name = "pack_avx2",
    .isa = Isa::avx2,
    .rows_u32 = rows_u32_simd,
};

}  // namespace tern
