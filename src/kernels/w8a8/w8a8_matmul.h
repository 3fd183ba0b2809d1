#pragma once
// w8a8_matmul: y (M, N) = x (M, K) @ W^T with W stored as int8 codes and one
// scale per output channel (formats/w8a8_block.h), and x quantized to int8 on
// every call, so the multiply-adds are int8 x int8 (gemm_q8's VNNI / AVX2 /
// scalar micro-kernels, the variant chosen once by gemm_q8_kernel()).
//
// Activations, per row m of x:
//   dynamic (act_scale == 0): s_m = max_k |x[m][k]| / 127 (per token)
//   static  (act_scale  > 0): s_m = act_scale (per tensor, from calibration)
//   q[m][k] = clamp(rne(x[m][k] * (1 / s_m)), -127, 127), NaN -> 0; stored as
//   u8 q + 128 with gemm_q8's zero point 128, so corr = sum_k q * w exactly.
// Output, the fp32 operations in this order (bit-identical to the reference):
//   dynamic: y = (float(corr) * (1 * d[n])) * s_m
//   static:  y = float(corr) * (s * d[n])
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/gemm_q8/gemm_q8.h"

namespace tern {

class ThreadPool;

inline constexpr int32_t kW8A8ZeroPoint = 128;

// Weights prepared once: the (N, K) codes packed for one gemm_q8 kernel.
class W8A8Matrix {
public:
    // codes: (N, K) row-major int8; row_scales: (N); act_scale 0 = dynamic.
    W8A8Matrix(const GemmQ8Kernel& kernel, const int8_t* codes, std::vector<float> row_scales, float act_scale,
               int64_t n, int64_t k);
    int64_t n() const { return packed_.n(); }
    int64_t k() const { return packed_.k(); }
    float act_scale() const { return act_scale_; }
    const GemmQ8PackedB& packed() const { return packed_; }
    const float* row_scales() const { return row_scales_.data(); }
    uint64_t packed_bytes() const;

private:
    GemmQ8PackedB packed_;
    std::vector<float> row_scales_;
    float act_scale_;
};

// Per-call buffers (u8 codes (M, K), per-row scales (M)); reused across calls.
struct W8A8Scratch {
    std::vector<uint8_t> codes;
    std::vector<float> scales;
};

// Row m of x (K floats) -> K u8 codes (q + 128) and its scale s_m, as defined
// above: the scalar definition (nearbyint, fmax), used by the reference.
void w8a8_quantize_activation_row(const float* x, int64_t k, float act_scale, uint8_t* q, float* scale);

// The same, compiled per ISA (act_quant.inc; bit-identical); w8a8_matmul runs
// the one active_isa() chooses, tests walk every variant this CPU supports.
using W8A8ActQuantFn = void (*)(const float* x, int64_t k, float act_scale, uint8_t* q, float* scale);
struct W8A8ActKernel {
    const char* name;
    Isa isa;
    W8A8ActQuantFn quantize_row;
};
std::span<const W8A8ActKernel> w8a8_act_table();
const W8A8ActKernel& w8a8_act_kernel();
std::span<const W8A8ActKernel* const> w8a8_act_variants();
void w8a8_quantize_activations_scalar(const float*, int64_t, float, uint8_t*, float*);
void w8a8_quantize_activations_avx2(const float*, int64_t, float, uint8_t*, float*);
void w8a8_quantize_activations_avx512(const float*, int64_t, float, uint8_t*, float*);

void w8a8_matmul(const W8A8Matrix& w, const float* x, int64_t m, float* y, W8A8Scratch& scratch, ThreadPool& pool);

// The definition in plain loops from the unpacked codes (ref.cpp).
void w8a8_matmul_reference(const int8_t* codes /* (N, K) */, const float* row_scales, float act_scale, const float* x,
                           int64_t m, int64_t n, int64_t k, float* y);

}  // namespace tern
