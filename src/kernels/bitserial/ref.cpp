// The scalar reference of the bit-serial products (std::popcount per word)
// and the packing both share.
#include <bit>

#include "kernels/bitserial/bitserial.h"

namespace tern {

void pack_sign_bits(const float* values, int64_t k, uint64_t* bits) {
    for (int64_t w = 0; w < bit_words(k); ++w) bits[w] = 0;
    for (int64_t i = 0; i < k; ++i) {
        if (values[i] >= 0.f) bits[i / 64] |= uint64_t{1} << (i % 64);
    }
}

int32_t pack_ternary_bits(const int8_t* codes, int64_t k, uint64_t* mask, uint64_t* sign) {
    for (int64_t w = 0; w < bit_words(k); ++w) mask[w] = sign[w] = 0;
    int32_t nonzero = 0;
    for (int64_t i = 0; i < k; ++i) {
        if (codes[i] == 0) continue;
        ++nonzero;
        mask[i / 64] |= uint64_t{1} << (i % 64);
        if (codes[i] > 0) sign[i / 64] |= uint64_t{1} << (i % 64);
    }
    return nonzero;
}

void bit_gemm_binary_scalar(const BitGemmArgs& g, int64_t m0, int64_t m1) {
    const int64_t words = bit_words(g.k);
    for (int64_t i = m0; i < m1; ++i) {
        const uint64_t* a = g.a + i * words;
        for (int64_t j = 0; j < g.n; ++j) {
            const uint64_t* b = g.b + j * words;
            int64_t differ = 0;
            for (int64_t w = 0; w < words; ++w) differ += std::popcount(a[w] ^ b[w]);
            g.c[i * g.n + j] = static_cast<int32_t>(g.k - 2 * differ);
        }
    }
}

void bit_gemm_ternary_scalar(const BitGemmArgs& g, int64_t m0, int64_t m1) {
    const int64_t words = bit_words(g.k);
    for (int64_t i = m0; i < m1; ++i) {
        const uint64_t* a = g.a + i * words;
        for (int64_t j = 0; j < g.n; ++j) {
            const uint64_t* s = g.b + j * words;
            const uint64_t* m = g.b_mask + j * words;
            int64_t differ = 0;
            for (int64_t w = 0; w < words; ++w) differ += std::popcount(m[w] & (a[w] ^ s[w]));
            g.c[i * g.n + j] = static_cast<int32_t>(g.b_nonzero[j] - 2 * differ);
        }
    }
}

}  // namespace tern
