#pragma once
// Fast Walsh–Hadamard transform (FWHT) of fp32 rows, block-diagonal: every
// `block` consecutive elements (block a power of two) are multiplied by the
// Sylvester Hadamard matrix H_block scaled by 1/sqrt(block), so the transform
// is orthogonal and its own inverse (H is symmetric). Used by QuaRot-style
// rotations (quant/rotate.h) and the runtime's online Hadamard before ffn_down.
// One scalar kernel: O(n log block) adds per row is small next to the matrix
// product that follows it, so there is no SIMD variant.
#include <cstdint>

namespace tern {

// True when block is a power of two >= 1.
constexpr bool is_power_of_two(int64_t block) { return block > 0 && (block & (block - 1)) == 0; }

// The largest power of two dividing n (n > 0): the block a width n allows.
constexpr int64_t largest_power_of_two_factor(int64_t n) { return n & -n; }

// x: (n) in place; n a multiple of block, block a power of two (caller checks).
void fwht_blocks(float* x, int64_t n, int64_t block);

// The same in double (weight and Hessian transforms in quant/, where the
// rounding of f32 would show up in GPTQ's Cholesky factor).
void fwht_blocks(double* x, int64_t n, int64_t block);

}  // namespace tern
