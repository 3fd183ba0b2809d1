#pragma once
// Pruning masks over a classifier's prunable weights, chosen from saliencies:
// fine-grained layer-wise (each tensor loses exactly round(s * numel) weights),
// fine-grained global (one threshold over all tensors: exactly round(s * total)),
// and N:M (in every group of M consecutive weights of a row, the N most salient
// stay). Masks are kept 1 / pruned 0; applying one writes exact +0.0f.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"
#include "prune/criteria.h"

namespace tern::prune {

using Mask = std::vector<uint8_t>;  // one per weight: 1 keep, 0 pruned

std::vector<Mask> layerwise_masks(const std::vector<std::vector<float>>& saliency, double sparsity);
std::vector<Mask> global_masks(const std::vector<std::vector<float>>& saliency, double sparsity);
// Rows of the weights must be a multiple of m (check_pattern says which is not).
std::vector<Mask> n_m_masks(const std::vector<std::vector<float>>& saliency, const std::vector<PrunableWeight>& weights,
                            int64_t n, int64_t m);
// The first weight whose row length `m` does not divide, or nullptr.
const PrunableWeight* first_row_not_divisible(const std::vector<PrunableWeight>& weights, int64_t m);

// Masks of the weights' present zeros (what a resumed run restores).
std::vector<Mask> masks_from_zeros(const std::vector<PrunableWeight>& weights);

// Sets pruned weights to +0.0f.
void apply_masks(const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks);
// Zeroes pruned weights' gradients (so momentum and Adam moments get nothing from them).
void mask_gradients(const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks);
// Zeroes the optimizer's state (momentum, moments) at pruned weights, so a
// weight pruned after training started is not pushed back by its old velocity.
void mask_optimizer_state(nn::Optimizer& opt, const std::vector<PrunableWeight>& weights, const std::vector<Mask>& masks);

struct LayerSparsity {
    std::string name;
    int64_t weights = 0, zeros = 0;
    double sparsity() const { return weights ? static_cast<double>(zeros) / static_cast<double>(weights) : 0; }
};
// Exact zeros per prunable weight, and a last row named "total".
std::vector<LayerSparsity> measure_sparsity(const std::vector<PrunableWeight>& weights);

}  // namespace tern::prune
