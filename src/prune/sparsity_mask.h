#pragma once
// Which weights of a Linear (rows = output features, cols = input features) a
// pruning criterion zeroes, given one score per weight (higher = keep):
// unstructured at a sparsity S, compared within each output row (Wanda's
// group) or over the whole matrix (layer-wise magnitude), or N:M (in every M
// consecutive input columns of a row keep the N highest scores). Ties go to
// the lower column index being pruned first, so masks are deterministic.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tern::prune {

enum class MaskScope { per_row, per_matrix };

// Keep n of every m consecutive weights of a row (2:4, 4:8).
struct NmPattern {
    int n = 0, m = 0;
};

// "2:4" -> {2, 4}. UsageError naming --pattern unless it is N:M with 0 < N < M <= 64.
NmPattern parse_nm_pattern(const std::string& text);

// 1 = pruned. Prunes floor(S × group size) weights of each group (a row, or
// the matrix), the lowest scores. S in [0, 1).
std::vector<uint8_t> unstructured_mask(std::span<const float> scores, int64_t rows, int64_t cols, double sparsity,
                                       MaskScope scope);

// InputError naming `tensor` unless p.m divides a row of `cols`.
void check_nm_fits(int64_t cols, NmPattern p, const std::string& tensor);

// 1 = pruned: in each group of p.m columns of a row, all but the p.n highest
// scores. InputError naming `tensor` when p.m does not divide cols.
std::vector<uint8_t> nm_mask(std::span<const float> scores, int64_t rows, int64_t cols, NmPattern p,
                             const std::string& tensor = "weight");

}  // namespace tern::prune
