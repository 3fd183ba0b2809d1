#pragma once
// Bit-serial matrix products for binary and ternary networks (XNOR-Net,
// BinaryConnect/BWN, TWN/TTQ): operands hold one bit per value, 64 values per
// uint64_t word, K padded with zero bits to whole words.
//
//   binary x binary  (a, b in {-1, +1}; bit 1 = +1):
//       dot(a, b) = K - 2 * popcount(a XOR b)
//   binary activations x ternary weights (w in {-1, 0, +1} as a nonzero mask m
//   and a sign plane s, bit 1 = +1):
//       dot(a, w) = popcount(m) - 2 * popcount(m AND (a XOR s))
// Zero padding cancels in both: padded bits agree (XOR 0) and are masked out.
// The results are exact int32; the per-channel scales (alpha) belong to the op.
// Kernels never allocate or throw; callers check shapes.
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"

namespace tern {

class ThreadPool;

constexpr int64_t bit_words(int64_t k) { return (k + 63) / 64; }

// values (k floats) -> signs (bit 1 where v >= 0, the sign(0) = +1 of
// BinaryConnect), bit_words(k) words, padding zero.
void pack_sign_bits(const float* values, int64_t k, uint64_t* bits);
// ternary codes (k values in {-1, 0, 1}) -> a nonzero mask and a sign plane.
// Returns the number of nonzero codes (popcount of the mask).
int32_t pack_ternary_bits(const int8_t* codes, int64_t k, uint64_t* mask, uint64_t* sign);

struct BitGemmArgs {
    int64_t m = 0, n = 0, k = 0;  // k: values per row (bits used of each row)
    const uint64_t* a = nullptr;  // (m, bit_words(k)) activation signs
    const uint64_t* b = nullptr;  // (n, bit_words(k)) weight signs (binary) or sign plane (ternary)
    const uint64_t* b_mask = nullptr;    // ternary only: (n, bit_words(k)) nonzero mask
    const int32_t* b_nonzero = nullptr;  // ternary only: (n) popcount of each mask row
    int32_t* c = nullptr;                // (m, n) exact dot products
};

// One ISA's kernels over rows [m0, m1) of C.
struct BitGemmKernel {
    const char* name;
    Isa isa;
    void (*binary)(const BitGemmArgs& args, int64_t m0, int64_t m1);
    void (*ternary)(const BitGemmArgs& args, int64_t m0, int64_t m1);
};

// Best first; the AVX-512 row needs VPOPCNTDQ as well (Ice Lake, Zen 4 and later).
std::span<const BitGemmKernel> bit_gemm_table();
const BitGemmKernel& bit_gemm_kernel();  // the one active_isa() chooses
bool bit_gemm_kernel_supported(const BitGemmKernel& k);
std::vector<const BitGemmKernel*> bit_gemm_variants();  // every supported row, scalar first

// C = A B^T on the default pool (rows of C split across threads), with `kernel` or the chosen one.
void bit_gemm_binary(const BitGemmArgs& args, const BitGemmKernel* kernel = nullptr);
void bit_gemm_ternary(const BitGemmArgs& args, const BitGemmKernel* kernel = nullptr);

// The rows of each variant (ref.cpp, bitserial_avx2.cpp, bitserial_avx512.cpp).
void bit_gemm_binary_scalar(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_ternary_scalar(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_binary_avx2(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_ternary_avx2(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_binary_avx512(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_ternary_avx512(const BitGemmArgs& args, int64_t m0, int64_t m1);

}  // namespace tern
