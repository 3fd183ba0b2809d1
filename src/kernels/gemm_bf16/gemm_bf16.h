#pragma once
// gemm_bf16: C (M, N) fp32 = act(alpha * op(A) op(B) + beta * C + bias) with A and
// B in bfloat16 (uint16_t storage) and fp32 accumulation. Panels hold K in
// pairs (KG = 2) so AVX-512 BF16 `vdpbf16ps` consumes two K steps per lane; the
// AVX2 kernel widens the same pairs to fp32 with shifts. Same driver, epilogue
// and argument conventions as gemm_f32.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/gemm_common/activation.h"
#include "kernels/gemm_common/gemm_blocking.h"
#include "kernels/gemm_f32/gemm_f32.h"  // GemmF32TileEpilogue: C is fp32 here too

namespace tern {

class ThreadPool;

using GemmBf16MicroKernel = void (*)(int64_t kcp, const uint16_t* a_panel /* (kcp/2, MR, 2) */,
                                     const uint16_t* b_panel /* (kcp/2, NR, 2) */, float* c, int64_t ldc, int rows,
                                     int cols, const GemmF32TileEpilogue& ep);

struct GemmBf16Kernel {
    const char* name;
    Isa isa;
    gemm::Blocking blocking;
    GemmBf16MicroKernel micro_kernel;
    std::array<gemm::ShortTile<GemmBf16MicroKernel>, 3> short_tiles{};  // for small M (gemm::choose_row_tile)
};

class GemmBf16PackedB;

struct GemmBf16Args {
    int64_t m = 0, n = 0, k = 0;
    const uint16_t* a = nullptr;  // bf16 (M, lda), or (K, lda) when trans_a
    int64_t lda = 0;
    bool trans_a = false;
    const uint16_t* b = nullptr;  // bf16 (K, ldb), or (N, ldb) when trans_b
    int64_t ldb = 0;
    bool trans_b = false;
    const GemmBf16PackedB* packed_b = nullptr;
    float* c = nullptr;  // (M, ldc) fp32
    int64_t ldc = 0;
    float alpha = 1.0f, beta = 0.0f;
    const float* bias = nullptr;  // (N) or null
    Activation act = Activation::none;
};

class GemmBf16PackedB {
public:
    GemmBf16PackedB(const GemmBf16Kernel& kernel, const uint16_t* b, int64_t ldb, bool trans_b, int64_t k, int64_t n);
    ~GemmBf16PackedB();
    GemmBf16PackedB(const GemmBf16PackedB&) = delete;
    GemmBf16PackedB& operator=(const GemmBf16PackedB&) = delete;
    const GemmBf16Kernel& kernel() const { return *kernel_; }
    int64_t k() const { return k_; }
    int64_t n() const { return n_; }
    const uint16_t* data() const { return data_; }

private:
    const GemmBf16Kernel* kernel_;
    int64_t k_, n_;
    uint16_t* data_;  // prepacked_b_elements(blocking, k, n)
};

// Every row compiled in (best first), the variant active_isa() chooses, and every
// variant this CPU supports (scalar first): tests, benchmarks and `tern info --cpu`
// walk these (kernel_table.h).
std::span<const GemmBf16Kernel> gemm_bf16_table();
const GemmBf16Kernel& gemm_bf16_kernel();
std::span<const GemmBf16Kernel* const> gemm_bf16_variants();

void gemm_bf16(const GemmBf16Args& args);
void gemm_bf16(const GemmBf16Kernel& kernel, const GemmBf16Args& args, ThreadPool& pool);

// dst[i] = fp32_to_bf16(x[i]) (nearest even, NaN kept quiet) for i < count,
// split over `pool`: the operand rounding in front of every bf16 product of f32 data.
void round_to_bf16(const float* x, int64_t count, uint16_t* dst, ThreadPool& pool);

// Scalar reference, exact bf16 -> double products, double accumulation (ref.cpp).
void gemm_bf16_reference(const GemmBf16Args& args);

void gemm_bf16_ukr_4x8_scalar(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                              const GemmF32TileEpilogue&);
void gemm_bf16_ukr_4x16_avx2(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                             const GemmF32TileEpilogue&);
void gemm_bf16_ukr_1x16_avx2(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                             const GemmF32TileEpilogue&);
void gemm_bf16_ukr_8x32_avx512bf16(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                                   const GemmF32TileEpilogue&);
void gemm_bf16_ukr_1x32_avx512bf16(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                                   const GemmF32TileEpilogue&);
void gemm_bf16_ukr_4x32_avx512bf16(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                                   const GemmF32TileEpilogue&);
void gemm_bf16_ukr_12x32_avx512bf16(int64_t, const uint16_t*, const uint16_t*, float*, int64_t, int, int,
                                    const GemmF32TileEpilogue&);

}  // namespace tern
