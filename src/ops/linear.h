#pragma once
// ops::Linear: the ONE place every weight matmul goes through (llm/ today;
// graph/ and tinyml/ next). Created once from a weight tensor W (N, K) of any storage dtype
// (row n = output feature n, as in torch.nn.Linear and GGUF), it prepares
// whatever the kernel wants (packed panels) and then computes
//     y (M, N) = x (M, K) @ W^T + bias, then act
// for a batch of M rows (prefill) or a single row (decode).
//
// Paths today:
//   f32           -> gemm_f32 on B packed once
//   f16           -> kept in f16, repacked once into gemv_f16's NR-row panels
//                    (half the bytes of f32): vcvtph2ps + FMA on 4 rows of x
//                    per panel pass (decode streams W once), or, above the
//                    kernel's gemv_max_rows, gemm_f32 micro-kernels on panels
//                    converted on the fly. The widening is exact, so only the
//                    f32 summation order differs from f32 weights.
//   bf16          -> gemm_bf16 on packed bf16 B; activations rounded to bf16
//                    per call (what llama.cpp does for bf16 weights)
//   FloatMath::bf16 (`--fpmath bf16`): f16 weights keep the exact GEMV
//                    for decode but run prefill (M >= kBf16PrefillMinRows)
//                    through gemm_f16_bf16; f32 weights are stored as bf16
//                    (the bf16 path above). Twice the multiply-adds per cycle
//                    of f32 FMA, operands rounded to bf16 (8 significant bits),
//                    sums in f32: oneDNN's fpmath_mode=bf16, PyTorch's
//                    float32_matmul_precision("medium").
//   FloatMath::auto_ (the default, `--fpmath auto`): bf16 for the prefill of
//                    16-bit weights (f16 as above; bf16 weights always), exact
//                    for f32 weights. A 16-bit checkpoint is already rounded,
//                    and llama.cpp itself rounds activations to f16 for f16
//                    weights; the perplexity cost is negligible
//                    (bench/RESULTS_llm.md, "--fpmath"). Only where the CPU
//                    multiplies bf16 natively (AVX-512 BF16): elsewhere
//                    gemm_bf16 widens to f32 and runs the same FMAs, so auto
//                    is exact there, which is also faster.
//   FloatMath::exact (`--fpmath exact`): f16 weights widened exactly to f32.
//   GGUF blocks   -> repacked once into quant_matmul's 16-row tiles; each call
//                    quantizes the activations to int8 per block (Q8_0 / Q8_K
//                    style, as llama.cpp does) and runs the VNNI GEMV (M = 1)
//                    or GEMM (M > 1). Q8_1/Q8_K (activation-only types) are
//                    dequantized to f32 once instead.
//   w8a8          -> int8 codes packed once for gemm_q8 with their row scales;
//                    each call quantizes the activations to int8 per token (or
//                    with the file's static scale) and multiplies int8 x int8
//                    (kernels/w8a8).
//   sparse24_q8   -> 2:4 sparse int8 (2-bit positions + kept codes): the 2:4
//                    sparse kernel or, where measured faster once at load, the
//                    same codes densified on the w8a8 path (ops/linear_sparse24.h);
//                    the same int8 sums either way.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/gemm_common/activation.h"

namespace tern {
class GemmF32PackedB;
class GemmBf16PackedB;
class GemvF16Weights;
struct QuantMatrix;
class W8A8Matrix;
}  // namespace tern

namespace tern::ops {
class Sparse24Weights;
struct Sparse24Choice;

enum class LinearPath { f32_packed, f16_panels, bf16_packed, quantized_int8, dequantized_f32, w8a8_int8, sparse24_int8 };
const char* linear_path_name(LinearPath p);

// How f32 / f16 weights may be multiplied (see the top of this file).
enum class FloatMath { exact, bf16, auto_ };
const char* float_math_name(FloatMath m);
// "exact" / "bf16" / "auto"; nullopt for anything else.
std::optional<FloatMath> parse_float_math(const std::string& s);
// What auto_ means for weights stored as `weight` on this CPU: bf16 for 16-bit
// float weights (f16, bf16) where gemm_bf16 runs native bf16 dot products,
// exact for everything else (f32 weights keep their precision); exact and bf16
// stay as they are.
FloatMath resolve_float_math(FloatMath m, DType weight);

// Rows from which f16 weights take the bf16 prefill under FloatMath::bf16:
// below it the f16 GEMV still streams W at the bandwidth and wins
// (bench_gemv_f16; figures in bench/RESULTS_llm.md).
inline constexpr int64_t kBf16PrefillMinRows = 32;

class Linear {
public:
    // w: (N, K) in any dtype tern can decode; bias: empty or N floats.
    // `name` is used in error messages. Throws InputError on a bad shape.
    Linear(const Tensor& w, std::vector<float> bias, const std::string& name,
                 Activation act = Activation::none, FloatMath math = FloatMath::exact);
    ~Linear();
    Linear(const Linear&) = delete;
    Linear& operator=(const Linear&) = delete;

    // x: (M, K) row-major, y: (M, N) row-major (overwritten).
    void forward(const float* x, float* y, int64_t M) const;

    // ys[i] = x @ ws[i]^T (+ bias, act) for weights that share x (q/k/v,
    // gate/up). Quantized weights with the same activation blocking run as one
    // threaded call (activations quantized once, one barrier); anything else
    // runs one forward() per weight.
    static void forward_many(std::span<const Linear* const> ws, const float* x, std::span<float* const> ys,
                             int64_t M);

    int64_t in_features() const { return k_; }   // K
    int64_t out_features() const { return n_; }  // N
    DType source_dtype() const { return source_dtype_; }
    LinearPath path() const { return path_; }
    FloatMath float_math() const { return math_; }
    Activation activation() const { return act_; }
    const std::vector<float>& bias() const { return bias_; }
    // Bytes of the stored weight (GGUF / safetensors dtype): what one decode
    // step must stream, the numerator of the roofline.
    uint64_t source_bytes() const;
    // Bytes the prepared weights occupy (packed panels), for memory reports.
    uint64_t prepared_bytes() const { return prepared_bytes_; }
    // sparse24_q8 weights: which path the load-time measurement kept and its
    // times (linear_sparse24.h); nullptr for every other dtype.
    const Sparse24Choice* sparse24_choice() const { return sparse24_choice_.get(); }

private:
    int64_t n_ = 0, k_ = 0;
    DType source_dtype_ = DType::f32;
    LinearPath path_ = LinearPath::f32_packed;
    Activation act_ = Activation::none;
    FloatMath math_ = FloatMath::exact;
    std::vector<float> bias_;  // (N) or empty
    std::unique_ptr<GemmF32PackedB> packed_f32_;
    std::unique_ptr<GemmBf16PackedB> packed_bf16_;
    std::unique_ptr<GemvF16Weights> packed_f16_;
    std::unique_ptr<QuantMatrix> packed_quant_;
    std::unique_ptr<W8A8Matrix> packed_w8a8_;
    std::unique_ptr<Sparse24Weights> packed_s24_;
    std::unique_ptr<Sparse24Choice> sparse24_choice_;
    uint64_t prepared_bytes_ = 0;

    void apply_bias_act(float* y, int64_t M) const;
};

}  // namespace tern::ops
