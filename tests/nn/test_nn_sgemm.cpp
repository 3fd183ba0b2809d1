// nn::sgemm (over gemm_f32) against a double-precision triple loop, all four
// transpose combinations, awkward sizes, strided operands, alpha/beta.
#include <gtest/gtest.h>

#include <vector>

#include "nn/matmul_backend.h"
#include "nn/random.h"

namespace tern::nn {
namespace {

TEST(NnSgemm, MatchesNaiveOnAwkwardShapes) {
    Rng rng(42);
    const int64_t sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {13, 33, 17}, {97, 300, 261}, {6, 16, 0}, {130, 17, 600}};
    for (const auto& s : sizes)
        for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
                const int64_t M = s[0], N = s[1], K = s[2];
                const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                std::vector<float> A((ta ? K : M) * lda + 1), B((tb ? N : K) * ldb + 1), C(M * ldc);
                for (auto& v : A) v = rng.normal();
                for (auto& v : B) v = rng.normal();
                for (auto& v : C) v = rng.normal();
                std::vector<float> C0 = C;
                const float alpha = 0.75f, beta = ta ? 0.5f : 0.0f;
                sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
                double max_err = 0;
                for (int64_t i = 0; i < M; ++i)
                    for (int64_t j = 0; j < N; ++j) {
                        double acc = 0;
                        for (int64_t k = 0; k < K; ++k)
                            acc += static_cast<double>(ta ? A[k * lda + i] : A[i * lda + k]) *
                                   (tb ? B[j * ldb + k] : B[k * ldb + j]);
                        const double want = alpha * acc + (beta == 0 ? 0.0 : beta * C0[i * ldc + j]);
                        max_err = std::max(max_err, std::fabs(want - C[i * ldc + j]));
                    }
                EXPECT_LT(max_err, 1e-5 * (K + 1)) << M << "x" << N << "x" << K << " ta=" << ta << " tb=" << tb;
                // Padding columns of C stay untouched.
                for (int64_t i = 0; i < M; ++i)
                    for (int64_t j = N; j < ldc; ++j) EXPECT_EQ(C[i * ldc + j], C0[i * ldc + j]);
            }
}

}  // namespace
}  // namespace tern::nn
