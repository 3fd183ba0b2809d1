#include <immintrin.h>

#include "kernels/stream/stream.h"

namespace tern {
namespace {

float read_sum_avx512(const float* p, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
        a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

}  // namespace

const StreamKernels kStreamAvx512 = {
    .name = "stream_read_f32_avx512",
    .isa = Isa::avx512,
    .read_sum = read_sum_avx512,
};

}  // namespace tern
