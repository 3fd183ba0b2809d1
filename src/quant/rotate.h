#pragma once
// QuaRot-style rotation (Ashkboos et al., 2404.00456) of a llama-family model's
// residual stream, fused into the weights, then rtn or GPTQ:
//   rotate       rotation, then round to nearest into any format;
//   rotate+gptq  rotation, then GPTQ with the Hessians of the rotated inputs
//                (the original model's statistics, transformed: no second
//                calibration pass).
// Steps, in tern's row-major (out, in) layout with row vectors x:
//   1. every RMSNorm weight g is folded into the columns of the Linears that
//      read its output (attn_norm -> q, k, v; ffn_norm -> gate, up;
//      output_norm -> the head) and set to 1; a tied head becomes output.weight;
//   2. Q = blockdiag(H_b)/sqrt(b) · diag(±1 from the seed), b the largest power
//      of two dividing d: embedding rows E <- E Q, readers W <- W diag(g) Q,
//      writers (attn_output, ffn_down; their biases as rows) W <- Q^T W.
//      RMSNorm without weights commutes with Q (it keeps norms), so every
//      logit is unchanged up to rounding.
//   3. --rotate-online: ffn_down W <- W H_f too, and the runtime multiplies
//      ffn_down's input by H_f (llm/model_config.h kFfnDownHadamardKey), which
//      spreads its outliers; llama.cpp does not know that key, so only tern
//      runs such a file correctly.
// The seed and the block sizes go into the file's metadata (tern.rotation.*).
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "io/tensor_role.h"
#include "quant/quantize_model.h"

namespace tern::quant {

struct Rotation {
    int64_t d = 0, block = 0;        // residual width and Hadamard block
    std::vector<double> signs;       // (d) the random ±1 of Q
    int64_t ffn = 0, ffn_block = 0;  // ffn width; online Hadamard block, 0: none
    // The folded norm weights, by the role of the Linears that read them
    // (attn_q for attn_norm, ffn_gate for ffn_norm, output for output_norm) and layer.
    std::map<std::pair<io::TensorRole, int32_t>, std::vector<double>> folded;

    // v <- v Q (a residual row); for a column v, Q^T v is the same operation.
    void rotate_row(std::span<double> v) const;
};

struct RotatedModel {
    TensorModel model;  // every changed tensor f32; output.weight added for a tied head
    Rotation rotation;
};

// Folds and rotates; InputError for a model that is not llama-family (llama,
// qwen2) or lacks a tensor the rotation changes, or for an online Hadamard on a
// file that already has one.
RotatedModel rotate_model(const TensorModel& model, const RotateOptions& options);

// The Hessian X'^T X' of a Linear's rotated input from X^T X of its original
// input ((K, K) row-major): Q^T D H D Q with D = diag(1/g) for a reader of a
// folded norm, H_f H H_f for ffn_down with the online Hadamard, H otherwise.
// InputError when a folded weight is 0 (its input's statistics are lost).
std::vector<double> rotated_hessian(const Rotation& r, io::RoleOf role, std::vector<double> h);

QuantizedModel run_rotate(const TensorModel& model, const QuantRecipe& recipe);
QuantizedModel run_rotate_gptq(const TensorModel& model, const QuantRecipe& recipe);

}  // namespace tern::quant
