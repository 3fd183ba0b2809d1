#pragma once
// The one matrix-product entry point of nn/: every linear, matmul, conv
// (im2col) and attention product goes through sgemm(), so swapping in the
// kernels/gemm_f32 family later is a one-file change.
#include <cstdint>

namespace tern::nn {

// C = alpha * op(A) * op(B) + beta * C, row-major.
// op(A) is M x K: A is (M, K) with row stride lda, or (K, M) when trans_a.
// op(B) is K x N: B is (K, N) with row stride ldb, or (N, K) when trans_b.
// C is (M, N) with row stride ldc. beta == 0 ignores C's old contents (NaN too).
// Threads over the default pool; inside a pool task it runs on the caller.
// Results do not depend on the thread count (the k order per element is fixed).
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Register-tile sizes shared by the packing code and the micro-kernels.
inline constexpr int kGemmMR = 6;
inline constexpr int kGemmNR = 16;

// C[0:mr, 0:nr] += alpha * a_pack^T b_pack, a_pack: (kc, MR), b_pack: (kc, NR).
using GemmMicroKernel = void (*)(int64_t kc, const float* a_pack, const float* b_pack, float* C, int64_t ldc,
                                 float alpha, int mr, int nr);
void gemm_micro_6x16_generic(int64_t kc, const float* a_pack, const float* b_pack, float* C, int64_t ldc,
                             float alpha, int mr, int nr);
void gemm_micro_6x16_avx2(int64_t kc, const float* a_pack, const float* b_pack, float* C, int64_t ldc, float alpha,
                          int mr, int nr);

}  // namespace tern::nn
