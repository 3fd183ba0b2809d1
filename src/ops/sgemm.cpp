// BLAS-style sgemm over gemm_f32 (see ops/sgemm.h).
#include "ops/sgemm.h"

#include "kernels/gemm_f32/gemm_f32.h"

namespace tern::ops {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias) {
    if (M <= 0 || N <= 0) return;
    GemmF32Args args;
    args.m = M, args.n = N, args.k = K;
    args.a = A, args.lda = lda, args.trans_a = trans_a;
    args.b = B, args.ldb = ldb, args.trans_b = trans_b;
    args.c = C, args.ldc = ldc;
    args.alpha = alpha, args.beta = beta;
    args.bias = bias;
    gemm_f32(args);
}

}  // namespace tern::ops
