#pragma once
// BLAS-style row-major sgemm over tern's gemm_f32 kernel family, the one
// matrix product of nn/ (linear, matmul, attention, conv via im2col) and of
// ops::Conv2d, so training runs on the same tuned kernels as inference.
// C = alpha * op(A) * op(B) + beta * C (+ bias[j] on every row j column when
// bias is given, added in the GEMM's epilogue).
#include <cstdint>

namespace tern::ops {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias = nullptr);

}  // namespace tern::ops
