#pragma once
// Differentiable ops on Vars. Every op computes its forward value eagerly and,
// when grad mode is on and an input requires a gradient, records a backward
// closure (see autograd.h). Implementations are split by family in ops_*.cpp.
// Layouts: images NCHW, sequences (B, T, C), attention heads (B, T, H, D).
#include <cstdint>
#include <vector>

#include "nn/autograd.h"
#include "ops/conv2d.h"

namespace tern::nn {

// --- arithmetic (ops_arith.cpp) --------------------------------------------
// Numpy broadcasting (shapes aligned from the right, size-1 dims stretch).
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var add_scalar(const Var& a, float s);
Var mul_scalar(const Var& a, float s);
Var sum(const Var& a);   // all elements -> shape {1}
Var mean(const Var& a);  // all elements -> shape {1}

// --- shape (ops_shape.cpp) ---------------------------------------------------
Var reshape(const Var& a, const Shape& shape);  // one dim may be -1
Var flatten(const Var& a, int start_dim = 1);   // dims [start_dim, end) -> one
Var transpose(const Var& a, int d0, int d1);    // materialised copy
Var concat(const std::vector<Var>& parts, int dim);
Var slice(const Var& a, int dim, int64_t start, int64_t end);  // [start, end)

// --- linear algebra (ops_linear.cpp) -----------------------------------------
// (..., M, K) x (K, N) or batched (B..., M, K) x (B..., K, N) with equal batch dims.
Var matmul(const Var& a, const Var& b);
// y = x W^T + b. x: (..., in), W: (out, in), b: (out) or undefined.
Var linear(const Var& x, const Var& weight, const Var& bias = Var());

// --- convolution and pooling (ops_conv.cpp, ops_pool.cpp) --------------------
using Conv2dParams = ops::Conv2dParams;  // stride, padding, dilation, groups
// x: (N, C, H, W), weight: (O, C/groups, KH, KW), bias: (O) or undefined.
Var conv2d(const Var& x, const Var& weight, const Var& bias, const Conv2dParams& p);

struct Pool2dParams {
    int64_t kernel_h = 2, kernel_w = 2;
    int64_t stride_h = 2, stride_w = 2;
    int64_t pad_h = 0, pad_w = 0;
};
Var max_pool2d(const Var& x, const Pool2dParams& p);  // padding acts as -inf
Var avg_pool2d(const Var& x, const Pool2dParams& p);  // padding counts (PyTorch count_include_pad)
Var global_avg_pool2d(const Var& x);                  // (N, C, H, W) -> (N, C)

// --- normalisation (ops_norm.cpp) --------------------------------------------
// x: (N, C, ...). Training: batch statistics, running stats updated in place
// (momentum as PyTorch, unbiased variance). Eval: running statistics.
Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
               bool training, float momentum = 0.1f, float eps = 1e-5f);
// Over the last dim. weight, bias: (C); bias may be undefined.
Var layer_norm(const Var& x, const Var& weight, const Var& bias, float eps = 1e-5f);
Var rms_norm(const Var& x, const Var& weight, float eps = 1e-6f);

// --- activations (ops_activation.cpp) ----------------------------------------
Var relu(const Var& x);
Var gelu_tanh(const Var& x);
Var silu(const Var& x);
Var sigmoid(const Var& x);
Var tanh(const Var& x);
// min(max(x, lo), hi); gradient flows where lo < x < hi (ops_clamp.cpp).
Var clamp(const Var& x, float lo, float hi);
Var relu6(const Var& x);  // clamp(x, 0, 6)
// Inverted dropout; the mask is a pure function of (seed, element index).
Var dropout(const Var& x, float p, bool training, uint64_t seed);

// --- softmax family (ops_softmax.cpp) -----------------------------------------
Var softmax(const Var& x);      // over the last dim
Var log_softmax(const Var& x);  // over the last dim

// --- embedding (ops_embedding.cpp) --------------------------------------------
// weight: (V, D); ids: any shape `ids_shape` -> (ids_shape..., D).
Var embedding(const Var& weight, const std::vector<int64_t>& ids, const Shape& ids_shape);

// --- attention and rotary embedding (ops_attention.cpp, ops_rope.cpp) -------
// q: (B, T, Hq, D), k, v: (B, T, Hkv, D) with Hq % Hkv == 0 (GQA: each kv head
// serves Hq/Hkv query heads). Causal softmax(q k^T * scale) v -> (B, T, Hq, D).
// scale <= 0 means 1/sqrt(D).
Var causal_attention(const Var& q, const Var& k, const Var& v, float scale = 0.0f);
enum class RopeLayout {
    adjacent_pairs,  // rotates (2i, 2i+1): GGUF / Meta llama
    half_split,      // rotates (i, i + D/2): HF / GPT-NeoX
};
// x: (B, T, H, D); position of token t is pos_offset + t; frequency of pair i
// is theta^(-2i/D).
Var rope(const Var& x, RopeLayout layout, float theta = 10000.0f, int64_t pos_offset = 0);

// --- losses (ops_loss.cpp) -----------------------------------------------------
// logits: (N, C); targets: N class ids; mean over targets != ignore_index.
Var cross_entropy(const Var& logits, const std::vector<int64_t>& targets, int64_t ignore_index = -100);
Var mse_loss(const Var& pred, const Var& target);  // mean of squares
// Hinton distillation: T^2 * KL(softmax(teacher/T) || softmax(student/T)),
// summed over classes and averaged over rows (PyTorch kl_div 'batchmean').
// The teacher is a constant target (no gradient flows into it).
Var kd_kl_div(const Var& student_logits, const Var& teacher_logits, float temperature);

}  // namespace tern::nn
