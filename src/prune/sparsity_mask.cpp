#include "prune/sparsity_mask.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "core/error.h"

namespace tern::prune {
namespace {

// Marks the k lowest-scored of scores[idx[0..n)] (ties: lower index first).
void prune_lowest(std::span<const float> scores, std::vector<int64_t>& idx, int64_t k, uint8_t* mask, int64_t base) {
    if (k <= 0) return;
    auto lower = [&](int64_t a, int64_t b) {
        const float sa = scores[static_cast<size_t>(base + a)], sb = scores[static_cast<size_t>(base + b)];
        return sa < sb || (sa == sb && a < b);
    };
    std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), lower);
    for (int64_t i = 0; i < k; ++i) mask[idx[static_cast<size_t>(i)]] = 1;
}

void check_sizes(std::span<const float> scores, int64_t rows, int64_t cols) {
    if (rows < 0 || cols < 0 || static_cast<int64_t>(scores.size()) != rows * cols)
        throw InputError("prune", "scores hold " + std::to_string(scores.size()) + " values, not " +
                                      std::to_string(rows) + " x " + std::to_string(cols));
}

}  // namespace

NmPattern parse_nm_pattern(const std::string& text) {
    int n = 0, m = 0;
    char tail = 0;
    if (std::sscanf(text.c_str(), "%d:%d%c", &n, &m, &tail) != 2 || n <= 0 || m > 64 || n >= m)
        throw UsageError("--pattern", "'" + text + "' is not N:M with 0 < N < M <= 64 (keep N of every M: 2:4, 4:8)");
    return {n, m};
}

std::vector<uint8_t> unstructured_mask(std::span<const float> scores, int64_t rows, int64_t cols, double sparsity,
                                       MaskScope scope) {
    check_sizes(scores, rows, cols);
    if (!(sparsity >= 0 && sparsity < 1))
        throw UsageError("--sparsity", "must be in [0, 1), not " + std::to_string(sparsity));
    std::vector<uint8_t> mask(static_cast<size_t>(rows * cols), 0);
    const int64_t group = scope == MaskScope::per_row ? cols : rows * cols;
    const int64_t k = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(group)));
    std::vector<int64_t> idx(static_cast<size_t>(group));
    for (int64_t g = 0; g < rows * cols; g += std::max<int64_t>(group, 1)) {
        std::iota(idx.begin(), idx.end(), 0);
        prune_lowest(scores, idx, k, mask.data() + g, g);
    }
    return mask;
}

void check_nm_fits(int64_t cols, NmPattern p, const std::string& tensor) {
    if (p.m <= 0 || cols % p.m != 0)
        throw InputError(tensor, "rows of " + std::to_string(cols) + " input features are not a multiple of M = " +
                                     std::to_string(p.m) + " (pattern " + std::to_string(p.n) + ":" +
                                     std::to_string(p.m) + ")");
}

std::vector<uint8_t> nm_mask(std::span<const float> scores, int64_t rows, int64_t cols, NmPattern p,
                             const std::string& tensor) {
    check_sizes(scores, rows, cols);
    if (p.n <= 0 || p.n >= p.m) throw UsageError("--pattern", "N:M needs 0 < N < M");
    check_nm_fits(cols, p, tensor);
    std::vector<uint8_t> mask(static_cast<size_t>(rows * cols), 0);
    std::vector<int64_t> idx(static_cast<size_t>(p.m));
    for (int64_t g = 0; g < rows * cols; g += p.m) {
        std::iota(idx.begin(), idx.end(), 0);
        prune_lowest(scores, idx, p.m - p.n, mask.data() + g, g);
    }
    return mask;
}

}  // namespace tern::prune
