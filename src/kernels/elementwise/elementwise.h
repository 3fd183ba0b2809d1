#pragma once
// Elementwise, normalisation, softmax, RoPE and activation kernels on fp32 rows.
// Fused where it saves a pass over memory: RMSNorm applies its weight in the
// same pass, SiLU·mul (SwiGLU) reads gate and up once, softmax subtracts the max.
// One table per ISA; `elementwise_kernel()` is the one chosen at start-up.
#include <cstdint>
#include <span>

#include "core/cpu_features.h"

namespace tern {

// The pointwise activations of CNN graphs. Every variant computes the scalar
// formulas of activation_ref (kernels/elementwise/ref.cpp) with the same
// operations in the same order and no FMA (its SIMD files compile with
// -ffp-contract=off), so results are bit-identical across ISAs: the graph
// runtime's prepared and reference runs agree bit for bit.
//   relu            v > 0 ? v : (v is NaN ? v : 0)
//   clip            v is NaN ? v : min(b, max(a, v))
//   hard_sigmoid    max(0, min(1, a*v + b));   hard_swish: v * hard_sigmoid(v)
//   leaky_relu      v >= 0 ? v : a*v
//   hard_swish_div  (v * clip(v + a, b, c)) / d   (Paddle's hardswish: Add, Clip, Mul, Div)
enum class ActKind : int { relu, clip, hard_sigmoid, hard_swish, leaky_relu, hard_swish_div };
struct ActParams {
    ActKind kind = ActKind::relu;
    float a = 0, b = 0, c = 0, d = 1;
};

struct ElementwiseKernels {
    const char* name;  // e.g. "elementwise_f32_avx512"
    Isa isa;
    // y = x / sqrt(mean(x^2) + eps) * weight           x, weight, y: (n)
    void (*rmsnorm)(const float* x, const float* weight, float* y, int64_t n, float eps);
    // y = (x - mean) / sqrt(var + eps) * weight + bias  (bias may be null)
    void (*layernorm)(const float* x, const float* weight, const float* bias, float* y, int64_t n, float eps);
    // x = softmax(x * scale) in place, max-subtracted
    void (*softmax)(float* x, int64_t n, float scale);
    // y = silu(gate) * up                              (SwiGLU)
    void (*silu_mul)(const float* gate, const float* up, float* y, int64_t n);
    // y = gelu(x), tanh approximation (GPT-2)
    void (*gelu)(const float* x, float* y, int64_t n);
    // Rotary embedding in place on x: (n_heads, head_dim). cos/sin: (head_dim/2)
    // for this position. neox=false rotates adjacent pairs (2i, 2i+1) (GGUF llama
    // layout); neox=true rotates (i, i + head_dim/2) (HF / GPT-NeoX layout).
    void (*rope)(float* x, const float* cos, const float* sin, int64_t n_heads, int64_t head_dim, bool neox);
    // y = a + b
    void (*add)(const float* a, const float* b, float* y, int64_t n);
    // y += alpha * x
    void (*axpy)(float alpha, const float* x, float* y, int64_t n);
    // sum(a * b)
    float (*dot)(const float* a, const float* b, int64_t n);
    // Batch-norm statistics of a row in one pass: s = sum(x - k),
    // ss = sum((x - k)^2). A shift k near the mean keeps the variance
    // ss/n - (s/n)^2 free of cancellation.
    void (*sum_sumsq_shifted)(const float* x, int64_t n, float k, float* s, float* ss);
    // Batch-norm backward sums of a row in one pass: sd = sum(d),
    // sdx = sum(d * (x - m)).
    void (*sum_dot_centered)(const float* d, const float* x, int64_t n, float m, float* sd, float* sdx);
    // A block of query rows against a tile of nk keys, online softmax (flash
    // attention). For each row r (q_r = q + r·ldq) and its live keys j < live[r]:
    //   s_j = scale · q_r·K_j,  m' = max(m_r, max_j s_j),  c = exp(m_r − m'),
    //   l_r = l_r·c + Σ_j exp(s_j − m'),  o_r = o_r·c + Σ_j exp(s_j − m') · V_j,  m_r = m'.
    // K, V: (nk, hd) row-major; o: (rows, hd); m, l: (rows), m = −inf and l = 0
    // start a row; live[r] = 0 leaves row r untouched (a causal edge: live[r] =
    // keys at or before the row's position). s: rows · (nk + 1) floats of scratch.
    // Rows share each K and V chunk they load (GQA heads of one KV head, the
    // positions of a query block), so the tile is a small matrix product.
    void (*attend_block)(const float* q, int64_t ldq, int64_t rows, const int64_t* live, const float* K,
                         const float* V, int64_t nk, int64_t hd, float scale, float* m, float* l, float* o, float* s);
    // IEEE half <-> float rows (the f16 KV cache): exact widening; narrowing
    // rounds to nearest even, bit-identical to fp32_to_fp16.
    void (*f16_to_f32)(const uint16_t* x, float* y, int64_t n);
    void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);
    // y = act(y), in place over n values (see ActKind above).
    void (*activate)(const ActParams& p, float* y, int64_t n);
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const ElementwiseKernels& elementwise_kernel();
std::span<const ElementwiseKernels* const> elementwise_variants();

// Per-ISA tables (defined in ref.cpp, elementwise_avx2.cpp, elementwise_avx512.cpp).
extern const ElementwiseKernels kElementwiseScalar;
extern const ElementwiseKernels kElementwiseAvx2;
extern const ElementwiseKernels kElementwiseAvx512;

// The activation of each variant (activation_avx2.cpp, activation_avx512.cpp:
// separate files, compiled without FMA contraction).
void activate_avx2(const ActParams& p, float* y, int64_t n);
void activate_avx512(const ActParams& p, float* y, int64_t n);

}  // namespace tern
