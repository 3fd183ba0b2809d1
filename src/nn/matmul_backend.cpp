#include "nn/matmul_backend.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace tern::nn {

namespace {

// Cache blocking: a task owns an (kMC x kNC) tile of C and walks K in kKC
// slices; A slice (kMC x kKC) stays in L2, one B panel (kKC x NR) in L1.
constexpr int64_t kMC = 96;   // multiple of MR
constexpr int64_t kNC = 256;  // multiple of NR
constexpr int64_t kKC = 256;

GemmMicroKernel pick_kernel() {
    return active_isa() >= Isa::avx2 ? gemm_micro_6x16_avx2 : gemm_micro_6x16_generic;
}

struct Operands {
    bool trans_a, trans_b;
    const float* A;
    int64_t lda;
    const float* B;
    int64_t ldb;
};

// a_pack: (ceil(mc/MR), kc, MR), rows past mc zero-filled.
void pack_a(const Operands& op, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* a_pack) {
    for (int64_t ip = 0; ip < mc; ip += kGemmMR) {
        const int64_t mr = std::min<int64_t>(kGemmMR, mc - ip);
        float* dst = a_pack + ip * kc;
        if (mr < kGemmMR) std::memset(dst, 0, sizeof(float) * kc * kGemmMR);
        for (int64_t i = 0; i < mr; ++i) {
            const int64_t row = i0 + ip + i;
            if (!op.trans_a) {
                const float* src = op.A + row * op.lda + k0;
                for (int64_t k = 0; k < kc; ++k) dst[k * kGemmMR + i] = src[k];
            } else {
                const float* src = op.A + k0 * op.lda + row;
                for (int64_t k = 0; k < kc; ++k) dst[k * kGemmMR + i] = src[k * op.lda];
            }
        }
    }
}

// b_pack: (ceil(nc/NR), kc, NR), columns past nc zero-filled.
void pack_b(const Operands& op, int64_t j0, int64_t nc, int64_t k0, int64_t kc, float* b_pack) {
    for (int64_t jp = 0; jp < nc; jp += kGemmNR) {
        const int64_t nr = std::min<int64_t>(kGemmNR, nc - jp);
        float* dst = b_pack + jp * kc;
        if (!op.trans_b) {
            for (int64_t k = 0; k < kc; ++k) {
                const float* src = op.B + (k0 + k) * op.ldb + j0 + jp;
                float* d = dst + k * kGemmNR;
                int64_t j = 0;
                for (; j < nr; ++j) d[j] = src[j];
                for (; j < kGemmNR; ++j) d[j] = 0.0f;
            }
        } else {
            if (nr < kGemmNR) std::memset(dst, 0, sizeof(float) * kc * kGemmNR);
            for (int64_t j = 0; j < nr; ++j) {
                const float* src = op.B + (j0 + jp + j) * op.ldb + k0;
                for (int64_t k = 0; k < kc; ++k) dst[k * kGemmNR + j] = src[k];
            }
        }
    }
}

// Reused packing scratch; one per thread so tasks never share buffers.
float* scratch(std::vector<float>& buf, size_t n) {
    if (buf.size() < n + 16) buf.resize(n + 16);
    auto p = reinterpret_cast<uintptr_t>(buf.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t{63});
}

void run_tile(const Operands& op, GemmMicroKernel kernel, int64_t i0, int64_t mc, int64_t j0, int64_t nc, int64_t K,
              float alpha, float beta, float* C, int64_t ldc) {
    for (int64_t i = 0; i < mc; ++i) {
        float* c = C + (i0 + i) * ldc + j0;
        if (beta == 0.0f)
            std::memset(c, 0, sizeof(float) * nc);
        else if (beta != 1.0f)
            for (int64_t j = 0; j < nc; ++j) c[j] *= beta;
    }
    if (K == 0 || alpha == 0.0f) return;
    thread_local std::vector<float> a_buf, b_buf;
    const int64_t mc_pad = (mc + kGemmMR - 1) / kGemmMR * kGemmMR;
    const int64_t nc_pad = (nc + kGemmNR - 1) / kGemmNR * kGemmNR;
    float* a_pack = scratch(a_buf, static_cast<size_t>(mc_pad * kKC));
    float* b_pack = scratch(b_buf, static_cast<size_t>(nc_pad * kKC));
    for (int64_t k0 = 0; k0 < K; k0 += kKC) {
        const int64_t kc = std::min(kKC, K - k0);
        pack_a(op, i0, mc, k0, kc, a_pack);
        pack_b(op, j0, nc, k0, kc, b_pack);
        for (int64_t jp = 0; jp < nc; jp += kGemmNR) {
            const int nr = static_cast<int>(std::min<int64_t>(kGemmNR, nc - jp));
            for (int64_t ip = 0; ip < mc; ip += kGemmMR) {
                const int mr = static_cast<int>(std::min<int64_t>(kGemmMR, mc - ip));
                kernel(kc, a_pack + ip * kc, b_pack + jp * kc, C + (i0 + ip) * ldc + j0 + jp, ldc, alpha, mr, nr);
            }
        }
    }
}

}  // namespace

void gemm_micro_6x16_generic(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, float alpha, int mr,
                             int nr) {
    float acc[kGemmMR][kGemmNR] = {};
    for (int64_t k = 0; k < kc; ++k) {
        for (int i = 0; i < kGemmMR; ++i) {
            const float ai = a[i];
            for (int j = 0; j < kGemmNR; ++j) acc[i][j] += ai * b[j];
        }
        a += kGemmMR;
        b += kGemmNR;
    }
    for (int i = 0; i < mr; ++i)
        for (int j = 0; j < nr; ++j) C[i * ldc + j] += alpha * acc[i][j];
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    static const GemmMicroKernel kernel = pick_kernel();
    const Operands op{trans_a, trans_b, A, lda, B, ldb};
    // Tiles shaped to the problem: skinny products split along the long side.
    const int64_t mc = std::min(kMC, M);
    const int64_t nc = std::min(kNC, N);
    const int64_t tiles_m = (M + mc - 1) / mc;
    const int64_t tiles_n = (N + nc - 1) / nc;
    const int64_t n_tiles = tiles_m * tiles_n;
    // Below ~1 MFLOP a tile is cheaper than waking the pool.
    const int64_t grain = (M * N * K < (int64_t{1} << 20)) ? n_tiles : 1;
    parallel_for(n_tiles, grain, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t i0 = (t / tiles_n) * mc;
            const int64_t j0 = (t % tiles_n) * nc;
            run_tile(op, kernel, i0, std::min(mc, M - i0), j0, std::min(nc, N - j0), K, alpha, beta, C, ldc);
        }
    });
}

}  // namespace tern::nn
