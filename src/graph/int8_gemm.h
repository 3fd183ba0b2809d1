#pragma once
// The integer products under the graph's quantized ops (ops_quant.cpp):
// int32 C = sum_k (A - a_zp) * (B - b_zp), with a scalar loop as the
// definition and gemm_q8's int8 kernels (VNNI / AVX-512 / AVX2 / scalar) as the
// fast path. The fast path is exact: every operand is re-expressed as u8 x s8
// (an int8 A is shifted by +128 with its zero point, a uint8 B by -128 with
// its zero points) and a nonzero B zero point is taken out after the product
// with A's row sums, so both paths give identical int32 results.
#include <cstdint>

namespace tern::graph {

// One operand's 8-bit codes; `is_signed` picks int8 over uint8.
struct Int8Operand {
    const void* data;
    bool is_signed;
};

// C (M, N) = sum_k (A[m][k] - a_zp[m]) * (B[n][k] - b_zp[n]), B given as (N, K)
// (b_nk) or (K, N). a_zp has M entries or one (a_zp_count 1); b_zp N or one.
struct Int8GemmArgs {
    int64_t m = 0, n = 0, k = 0;
    Int8Operand a{};  // (M, K) row-major
    Int8Operand b{};  // (N, K) when b_nk, else (K, N)
    bool b_nk = false;
    const int32_t* a_zp = nullptr;
    int64_t a_zp_count = 1;
    const int32_t* b_zp = nullptr;
    int64_t b_zp_count = 1;
    int32_t* c = nullptr;  // (M, N)
};

void int8_gemm_reference(const Int8GemmArgs& g);
// Runs on gemm_q8 when A's zero point is one value (per-tensor), else the reference.
void int8_gemm(const Int8GemmArgs& g);

}  // namespace tern::graph
