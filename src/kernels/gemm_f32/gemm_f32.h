#pragma once
// gemm_f32: C (M, N) = act(alpha * op(A) op(B) + beta * C + bias), fp32,
// row-major with leading dimensions. op(A) is (M, K), op(B) is (K, N); either
// may be given transposed. Packed Goto/BLIS blocking around register-blocked
// micro-kernels; one kernel table, dispatch chosen once from active_isa().
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/gemm_common/activation.h"
#include "kernels/gemm_common/gemm_blocking.h"

namespace tern {

class ThreadPool;

// Epilogue of one micro-tile store: C = alpha*acc + beta*C (C not read when
// beta == 0), then + bias[j] and act when bias/act are set (last K block only).
struct GemmF32TileEpilogue {
    float alpha, beta;
    const float* bias;  // (cols) at the tile's first column, or null
    Activation act;
};

// Micro-kernel: one (rows <= MR, cols <= NR) tile of C from packed panels.
using GemmF32MicroKernel = void (*)(int64_t kcp, const float* a_panel /* (kcp, MR) */,
                                    const float* b_panel /* (kcp, NR) */, float* c, int64_t ldc, int rows, int cols,
                                    const GemmF32TileEpilogue& ep);

struct GemmF32Kernel {
    const char* name;  // dtype_op_tile_isa, e.g. gemm_f32_12x32_avx512
    Isa isa;
    gemm::Blocking blocking;
    GemmF32MicroKernel micro_kernel;
    std::array<gemm::ShortTile<GemmF32MicroKernel>, 3> short_tiles{};  // for small M (gemm::choose_row_tile)
};

class GemmF32PackedB;

struct GemmF32Args {
    int64_t m = 0, n = 0, k = 0;
    const float* a = nullptr;  // (M, lda), or (K, lda) when trans_a
    int64_t lda = 0;
    bool trans_a = false;
    const float* b = nullptr;  // (K, ldb), or (N, ldb) when trans_b; ignored with packed_b
    int64_t ldb = 0;
    bool trans_b = false;
    const GemmF32PackedB* packed_b = nullptr;  // weights packed once (must match the kernel)
    float* c = nullptr;  // (M, ldc)
    int64_t ldc = 0;
    float alpha = 1.0f, beta = 0.0f;
    const float* bias = nullptr;  // (N) or null
    Activation act = Activation::none;
};

// B packed once for a kernel's blocking (inference weights): reuse across calls.
class GemmF32PackedB {
public:
    GemmF32PackedB(const GemmF32Kernel& kernel, const float* b, int64_t ldb, bool trans_b, int64_t k, int64_t n);
    ~GemmF32PackedB();
    GemmF32PackedB(const GemmF32PackedB&) = delete;
    GemmF32PackedB& operator=(const GemmF32PackedB&) = delete;
    const GemmF32Kernel& kernel() const { return *kernel_; }
    int64_t k() const { return k_; }
    int64_t n() const { return n_; }
    const float* data() const { return data_; }

private:
    const GemmF32Kernel* kernel_;
    int64_t k_, n_;
    float* data_;  // prepacked_b_elements(blocking, k, n)
};

// Every row compiled in (best first), the variant active_isa() chooses, and every
// variant this CPU supports (scalar first): tests, benchmarks and `tern info --cpu`
// walk these (kernel_table.h).
std::span<const GemmF32Kernel> gemm_f32_table();
const GemmF32Kernel& gemm_f32_kernel();
std::span<const GemmF32Kernel* const> gemm_f32_variants();

// Runs on the default pool with the active kernel. Throws InputError on bad shapes.
void gemm_f32(const GemmF32Args& args);
void gemm_f32(const GemmF32Kernel& kernel, const GemmF32Args& args, ThreadPool& pool);

// Scalar reference with double accumulation (the test truth; ref.cpp).
void gemm_f32_reference(const GemmF32Args& args);

// Micro-kernels of the table (ref.cpp, gemm_f32_avx2.cpp, gemm_f32_avx512.cpp).
void gemm_f32_ukr_4x8_scalar(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_6x16_avx2(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_4x16_avx2(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_1x16_avx2(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_6x64_avx512(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_8x32_avx512(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_1x32_avx512(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_4x32_avx512(int64_t, const float*, const float*, float*, int64_t, int, int, const GemmF32TileEpilogue&);
void gemm_f32_ukr_12x32_avx512(int64_t, const float*, const float*, float*, int64_t, int, int,
                               const GemmF32TileEpilogue&);

}  // namespace tern
