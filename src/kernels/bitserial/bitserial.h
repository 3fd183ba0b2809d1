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

class BitPackedB;

// One ISA's kernels over rows [m0, m1) x panels [p0, p1) of C (args: m, n, k, a, c;
// B comes packed for this kernel).
using BitGemmFn = void (*)(const BitGemmArgs& args, const BitPackedB& b, int64_t m0, int64_t m1, int64_t p0, int64_t p1);

struct BitGemmKernel {
    const char* name;
    Isa isa;
    int panel;  // columns of B per packed panel (1: B stays row-major)
    int rows;   // rows of C per full register tile (the threads split M in multiples of it)
    BitGemmFn binary;
    BitGemmFn ternary;
};

// B re-laid for one kernel, once (weights): panels of kernel.panel columns,
// inside a panel word w of every column side by side (panel words), so a SIMD
// load takes one word of `panel` columns and A's word is broadcast against it:
// the popcounts land in the lanes of distinct outputs and need no horizontal
// sum. Columns past n are zero. Still one bit per weight (two for ternary).
class BitPackedB {
public:
    // Binary: b (n, bit_words(k)) signs.
    BitPackedB(const BitGemmKernel& kernel, const uint64_t* b, int64_t n, int64_t k);
    // Ternary: sign plane and nonzero mask (n, bit_words(k)) each, nonzero (n) popcounts of the mask rows.
    BitPackedB(const BitGemmKernel& kernel, const uint64_t* sign, const uint64_t* mask, const int32_t* nonzero, int64_t n,
               int64_t k);
    ~BitPackedB();
    BitPackedB(const BitPackedB&) = delete;
    BitPackedB& operator=(const BitPackedB&) = delete;

    const BitGemmKernel& kernel() const { return *kernel_; }
    bool ternary() const { return mask_ != nullptr; }
    int64_t n() const { return n_; }
    int64_t k() const { return k_; }
    int64_t words() const { return bit_words(k_); }
    int64_t panels() const { return panels_; }
    // (panels, words, panel): panel p starts at p * words() * kernel().panel.
    const uint64_t* sign() const { return sign_; }
    const uint64_t* mask() const { return mask_; }            // ternary only, same layout
    const int32_t* nonzero() const { return nonzero_.data(); }  // ternary only, (panels * panel), 0 past n

private:
    const BitGemmKernel* kernel_;
    int64_t n_, k_, panels_;
    uint64_t* sign_ = nullptr;
    uint64_t* mask_ = nullptr;
    std::vector<int32_t> nonzero_;
};

// Best first; the AVX-512 row needs VPOPCNTDQ as well (Ice Lake, Zen 4 and later).
std::span<const BitGemmKernel> bit_gemm_table();
const BitGemmKernel& bit_gemm_kernel();  // the one active_isa() chooses
bool bit_gemm_kernel_supported(const BitGemmKernel& k);
std::vector<const BitGemmKernel*> bit_gemm_variants();  // every supported row, scalar first

// C = A B^T on the default pool with B packed once (args.b, b_mask, b_nonzero unused;
// args.n and args.k must be b's). Binary or ternary as b was packed.
void bit_gemm(const BitGemmArgs& args, const BitPackedB& b);
// The same from row-major B (args.b ...), packed per call for `kernel` or the chosen one.
void bit_gemm_binary(const BitGemmArgs& args, const BitGemmKernel* kernel = nullptr);
void bit_gemm_ternary(const BitGemmArgs& args, const BitGemmKernel* kernel = nullptr);

// The scalar reference on row-major B (ref.cpp): the oracle the tests hold every variant to.
void bit_gemm_binary_scalar(const BitGemmArgs& args, int64_t m0, int64_t m1);
void bit_gemm_ternary_scalar(const BitGemmArgs& args, int64_t m0, int64_t m1);

// The table's rows (ref.cpp, bitserial_avx2.cpp, bitserial_avx512.cpp).
void bit_gemm_binary_packed_scalar(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);
void bit_gemm_ternary_packed_scalar(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);
void bit_gemm_binary_avx2(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);
void bit_gemm_ternary_avx2(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);
void bit_gemm_binary_avx512(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);
void bit_gemm_ternary_avx512(const BitGemmArgs&, const BitPackedB&, int64_t, int64_t, int64_t, int64_t);

}  // namespace tern
