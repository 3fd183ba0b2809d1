// The scalar reference of the bit-serial products (std::popcount per word),
// the bit packing every variant shares, and the scalar table row.
#include <algorithm>
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

namespace {

// Rows [m0, m1) x columns [j0, j1) of C from row-major B.
template <bool Ternary>
void scalar_rows(const BitGemmArgs& g, int64_t m0, int64_t m1, int64_t j0, int64_t j1) {
    const int64_t words = bit_words(g.k);
    for (int64_t i = m0; i < m1; ++i) {
        const uint64_t* a = g.a + i * words;
        for (int64_t j = j0; j < j1; ++j) {
            const uint64_t* s = g.b + j * words;
            int64_t differ = 0;
            if constexpr (Ternary) {
                const uint64_t* m = g.b_mask + j * words;
                for (int64_t w = 0; w < words; ++w) differ += std::popcount(m[w] & (a[w] ^ s[w]));
            } else {
                for (int64_t w = 0; w < words; ++w) differ += std::popcount(a[w] ^ s[w]);
            }
            const int64_t base = Ternary ? g.b_nonzero[j] : g.k;
            g.c[i * g.n + j] = static_cast<int32_t>(base - 2 * differ);
        }
    }
}

// The scalar row packs B with panel = 1, which is the row-major layout itself.
template <bool Ternary>
void packed_rows(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
    BitGemmArgs rows = g;
    rows.b = b.sign(), rows.b_mask = b.mask(), rows.b_nonzero = b.nonzero();
    scalar_rows<Ternary>(rows, m0, m1, p0, std::min(p1, g.n));
}

}  // namespace

void bit_gemm_binary_scalar(const BitGemmArgs& g, int64_t m0, int64_t m1) { scalar_rows<false>(g, m0, m1, 0, g.n); }
void bit_gemm_ternary_scalar(const BitGemmArgs& g, int64_t m0, int64_t m1) { scalar_rows<true>(g, m0, m1, 0, g.n); }

void bit_gemm_binary_packed_scalar(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0,
                                   int64_t p1) {
    packed_rows<false>(g, b, m0, m1, p0, p1);
}
void bit_gemm_ternary_packed_scalar(const BitGemmArgs& g, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0,
                                    int64_t p1) {
    packed_rows<true>(g, b, m0, m1, p0, p1);
}

}  // namespace tern
