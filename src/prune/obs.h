#pragma once
// Layer-wise Optimal Brain Surgeon on one weight matrix W (rows = outputs,
// cols = inputs) — ExactOBS of Optimal Brain Compression (Frantar, Singh &
// Alistarh, 2208.11580). The layer loss is ||X W^T - X W'^T||², whose Hessian
// H = 2 X^T X is the same for every row, so each row is pruned on its own:
// repeatedly remove the weight q with the least OBS saliency w_q² / [H^-1]_qq,
// move the rest of the row by -w_q / [H^-1]_qq · H^-1[:, q] (the optimal
// compensation), and drop q from H^-1 (a rank-1 downdate). Every row runs to
// the end and records the loss of each step; the layer's mask takes the
// globally cheapest steps (per-row losses made non-decreasing, so each row's
// pruned set is a prefix of its order), and each row's kept weights are then
// refit exactly by least squares (the same result as stopping the OBS updates
// there). H is dampened by damp × mean(diag H) like SparseGPT
// (quant/hessian_factor.h, shared with it and GPTQ); inputs that are always 0
// (H_jj = 0) cost nothing to prune and go first. All arithmetic is f64.
//
// SparseGPT (prune/sparsegpt.h) approximates this column by column so that
// LLM-sized rows stay cheap; ExactOBS costs about cols³/3 per row, fine for
// the Linears and convolutions of the small classifiers.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tern::prune {

struct ObsOptions {
    double sparsity = 0.5;  // [0, 1): round(S × rows × cols) weights of the matrix are zeroed
    double damp = 0.01;
};

struct ObsResult {
    std::vector<float> weights;  // (rows, cols) pruned and refit
    std::vector<uint8_t> mask;   // (rows, cols) 1 = zeroed
    double damp_used = 0;
    double loss = 0;  // sum over rows of (w - w')^T H (w - w') of the dampened H (as given, not doubled)
};

// w: (rows, cols) row-major; hessian: (cols, cols), X^T X or any positive
// multiple. InputError naming `tensor` on shapes or non-finite values,
// UsageError for a sparsity outside [0, 1).
ObsResult obs_prune(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                    const ObsOptions& options, const std::string& tensor = "weight");

}  // namespace tern::prune
