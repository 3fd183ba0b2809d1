// f16 -> f32 rows for the KV cache with F16C (8 per instruction). Attention
// widens every cached key/value tile it reads, so the scalar path would
// dominate decode with an f16 cache. Built with the avx2 flags (file suffix).
#include <immintrin.h>

#include <cstdint>

#include "core/half.h"

namespace tern::llm {

void kv_f16_to_f32_avx2(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; ++i) dst[i] = fp16_to_fp32(src[i]);
}

void kv_f32_to_f16_avx2(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; ++i) dst[i] = fp32_to_fp16(src[i]);
}

}  // namespace tern::llm
