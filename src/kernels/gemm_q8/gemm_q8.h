#pragma once
// gemm_q8: u8 activations (with a zero point) x s8 weights (symmetric, one scale
// per output channel) -> s32 accumulation, then one of three epilogues:
//   s32:         corr = sum_k a*b - a_zp * colsum_b[j] (+ bias_s32[j])
//   requant_s8:  q = clamp(rne(float(corr) * ((a_scale * b_scale[j]) / out_scale)), qmin - out_zp, qmax - out_zp) + out_zp
//   dequant_f32: y = float(corr) * (a_scale * b_scale[j]) (+ bias_f32[j])
// Every variant evaluates exactly these fp32 operations in this order, so all
// outputs (not only the integer ones) are bit-identical to the reference.
// Weights are packed once (GemmQ8PackedB, K in quads for `vpdpbusd`) with their
// column sums; K is not blocked, so the whole dot product stays in registers.
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/gemm_common/gemm_blocking.h"

namespace tern {

class ThreadPool;

enum class Q8Output { s32, requant_s8, dequant_f32 };

// What a micro-kernel needs to finish one tile; pointers are at the tile's first column.
struct GemmQ8TileEpilogue {
    Q8Output mode;
    int32_t a_zero_point;
    float a_scale;
    const int32_t* col_sums;  // (cols) sum_k b[k][j]
    const float* b_scale;     // (cols), unused for s32
    const int32_t* bias_s32;  // (cols) or null
    const float* bias_f32;    // (cols) or null, dequant only
    float out_scale;
    int32_t out_zero_point, qmin, qmax;
};

// c points at the tile origin in the output's element type (int32_t, int8_t or float).
using GemmQ8MicroKernel = void (*)(int64_t kcp, const uint8_t* a_panel /* (kcp/4, MR, 4) */,
                                   const int8_t* b_panel /* (kcp/4, NR, 4) */, void* c, int64_t ldc, int rows,
                                   int cols, const GemmQ8TileEpilogue& ep);

struct GemmQ8Kernel {
    const char* name;  // e.g. gemm_q8_u8s8_12x32_avx512vnni
    Isa isa;
    gemm::Blocking blocking;  // kc covers any K (not blocked)
    GemmQ8MicroKernel micro_kernel;
    std::array<gemm::ShortTile<GemmQ8MicroKernel>, 3> short_tiles{};  // for small M (gemm::choose_row_tile)
};

// s8 weights op(B) (K, N) packed for one kernel, with their column sums.
class GemmQ8PackedB {
public:
    // b: (K, ldb), or (N, ldb) when trans_b (the usual (out, in) weight layout).
    GemmQ8PackedB(const GemmQ8Kernel& kernel, const int8_t* b, int64_t ldb, bool trans_b, int64_t k, int64_t n);
    ~GemmQ8PackedB();
    GemmQ8PackedB(const GemmQ8PackedB&) = delete;
    GemmQ8PackedB& operator=(const GemmQ8PackedB&) = delete;
    const GemmQ8Kernel& kernel() const { return *kernel_; }
    int64_t k() const { return k_; }
    int64_t n() const { return n_; }
    const int8_t* data() const { return data_; }
    const int32_t* col_sums() const { return col_sums_.data(); }  // (N)

private:
    const GemmQ8Kernel* kernel_;
    int64_t k_, n_;
    int8_t* data_;
    std::vector<int32_t> col_sums_;
};

struct GemmQ8Args {
    int64_t m = 0, n = 0, k = 0;
    const uint8_t* a = nullptr;  // (M, lda) u8
    int64_t lda = 0;
    int32_t a_zero_point = 0;
    float a_scale = 1.0f;
    const GemmQ8PackedB* b = nullptr;
    const float* b_scale = nullptr;  // (N) per output channel (requant / dequant)
    Q8Output output = Q8Output::s32;
    void* c = nullptr;  // (M, ldc) of int32_t / int8_t / float
    int64_t ldc = 0;
    const int32_t* bias_s32 = nullptr;  // (N) or null, added to corr
    const float* bias_f32 = nullptr;    // (N) or null, dequant only
    float out_scale = 1.0f;             // requant
    int32_t out_zero_point = 0;
    int32_t qmin = -128, qmax = 127;    // requant clamp (e.g. qmin = out_zp fuses ReLU)
};

// Every row compiled in (best first), the variant active_isa() chooses, and every
// variant this CPU supports (scalar first): tests, benchmarks and `tern info --cpu`
// walk these (kernel_table.h).
std::span<const GemmQ8Kernel> gemm_q8_table();
const GemmQ8Kernel& gemm_q8_kernel();
std::span<const GemmQ8Kernel* const> gemm_q8_variants();

// Runs with the kernel B was packed for, on the default pool.
void gemm_q8(const GemmQ8Args& args);
void gemm_q8(const GemmQ8Args& args, ThreadPool& pool);

// Scalar reference from the unpacked weights (ref.cpp): the definition of the math.
void gemm_q8_reference(const GemmQ8Args& args, const int8_t* b, int64_t ldb, bool trans_b);

namespace gemm {

// The epilogue of one element, exactly as defined above (shared by the
// reference and the scalar/AVX2 kernels; the AVX-512 one vectorises it op for op).
inline int32_t q8_corrected(int32_t acc, int32_t col_sum, int32_t bias, int32_t a_zp) {
    // Wrapping arithmetic, as the vector units do.
    return static_cast<int32_t>(static_cast<uint32_t>(acc) - static_cast<uint32_t>(a_zp) * static_cast<uint32_t>(col_sum) +
                                static_cast<uint32_t>(bias));
}
inline int8_t q8_requantize(int32_t corr, float a_scale, float b_scale, float out_scale, int32_t out_zp, int32_t qmin,
                            int32_t qmax) {
    const float scale = (a_scale * b_scale) / out_scale;
    float v = static_cast<float>(corr) * scale;
    const float lo = static_cast<float>(qmin - out_zp), hi = static_cast<float>(qmax - out_zp);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(v)) + out_zp);
}
inline float q8_dequantize(int32_t corr, float a_scale, float b_scale, const float* bias) {
    const float v = static_cast<float>(corr) * (a_scale * b_scale);
    return bias ? v + *bias : v;
}
// Writes one row of a finished tile from int32 accumulators (scalar and AVX2 kernels).
void q8_store_row(const int32_t* acc, int cols, const GemmQ8TileEpilogue& ep, void* c_row);

}  // namespace gemm

void gemm_q8_ukr_4x8_scalar(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int, const GemmQ8TileEpilogue&);
void gemm_q8_ukr_6x8_avx2(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int, const GemmQ8TileEpilogue&);
void gemm_q8_ukr_8x32_avx512vnni(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int,
                                 const GemmQ8TileEpilogue&);
void gemm_q8_ukr_1x32_avx512vnni(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int,
                                 const GemmQ8TileEpilogue&);
void gemm_q8_ukr_4x32_avx512vnni(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int,
                                 const GemmQ8TileEpilogue&);
void gemm_q8_ukr_12x32_avx512vnni(int64_t, const uint8_t*, const int8_t*, void*, int64_t, int, int,
                                  const GemmQ8TileEpilogue&);

}  // namespace tern
