#include <cmath>

#include "kernels/hadamard/hadamard.h"

namespace tern {
namespace {

// Sylvester order: butterflies of span 1, 2, 4 … within each block, then one
// scale, so H_block[i][j] = (-1)^popcount(i & j) / sqrt(block).
template <class T>
void fwht(T* x, int64_t n, int64_t block) {
    const T scale = T(1) / std::sqrt(T(block));
    for (int64_t b0 = 0; b0 < n; b0 += block) {
        T* v = x + b0;
        for (int64_t h = 1; h < block; h *= 2)
            for (int64_t i = 0; i < block; i += 2 * h)
                for (int64_t j = i; j < i + h; ++j) {
                    const T a = v[j], c = v[j + h];
                    v[j] = a + c;
                    v[j + h] = a - c;
                }
        for (int64_t i = 0; i < block; ++i) v[i] *= scale;
    }
}

}  // namespace

void fwht_blocks(float* x, int64_t n, int64_t block) { fwht(x, n, block); }
void fwht_blocks(double* x, int64_t n, int64_t block) { fwht(x, n, block); }

}  // namespace tern
