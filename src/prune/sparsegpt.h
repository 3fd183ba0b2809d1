#pragma once
// SparseGPT (Frantar & Alistarh, 2301.00774) on one Linear's weight W (rows =
// output features, cols = input features): zeroes weights column by column
// and spreads each zeroed weight's error over the columns not yet visited,
// through the inverse of the calibration Hessian H = X^T X (the OBS update),
// so that the layer output X W^T moves as little as possible.
//
// As in the paper's reference code: dead inputs zeroed, H dampened by damp ×
// mean(diag H) (quant/hessian_factor.h, shared with GPTQ), blocks of `block`
// columns with one lazy update of the later columns per block, and the mask
// chosen adaptively: unstructured, per block over all its rows by the OBS
// saliency w² / [H^-1]_jj² (the floor(S × rows × block) lowest — the paper's
// code prunes those at or below the k-th, one more); N:M, every M columns from
// the weights as updated so far. All arithmetic is f64.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "prune/sparsity_mask.h"

namespace tern::prune {

struct SparseGptOptions {
    double sparsity = 0.5;           // unstructured, when pattern is empty
    std::optional<NmPattern> pattern;  // N:M (block must be a multiple of M)
    double damp = 0.01;
    int64_t block = 128;
};

struct SparseGptResult {
    std::vector<float> weights;  // (rows, cols) pruned and reconstructed
    std::vector<uint8_t> mask;   // (rows, cols) 1 = zeroed
    double damp_used = 0;
    int64_t dead_inputs = 0;
};

// w: (rows, cols) row-major; hessian: (cols, cols), any positive multiple of
// X^T X. InputError on shapes, non-finite values, an N:M pattern whose M does
// not divide cols (naming `tensor`), or a Hessian that stays indefinite.
SparseGptResult sparsegpt_prune(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                                const SparseGptOptions& options, const std::string& tensor = "weight");

}  // namespace tern::prune
