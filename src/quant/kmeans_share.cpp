#include "quant/kmeans_share.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tern::quant {
namespace {

// Index of the nearest of the ascending `centroids` (ties to the lower one).
int32_t nearest(const std::vector<float>& centroids, float w) {
    const auto it = std::lower_bound(centroids.begin(), centroids.end(), w);
    if (it == centroids.begin()) return 0;
    if (it == centroids.end()) return static_cast<int32_t>(centroids.size() - 1);
    const auto hi = static_cast<int32_t>(it - centroids.begin());
    return (w - centroids[hi - 1] <= centroids[hi] - w) ? hi - 1 : hi;
}

// Drops centroids no weight uses and renumbers the assignment.
void drop_unused(SharedCodebook& c) {
    std::vector<int32_t> remap(c.centroids.size(), -1);
    for (int32_t a : c.assignment)
        if (a >= 0) remap[a] = 0;
    std::vector<float> kept;
    for (size_t j = 0; j < c.centroids.size(); ++j)
        if (remap[j] == 0) {
            remap[j] = static_cast<int32_t>(kept.size());
            kept.push_back(c.centroids[j]);
        }
    for (auto& a : c.assignment)
        if (a >= 0) a = remap[a];
    c.centroids = std::move(kept);
}

}  // namespace

std::vector<float> linear_centroids(float lo, float hi, int k) {
    std::vector<float> c(static_cast<size_t>(k));
    for (int j = 0; j < k; ++j) c[j] = k == 1 ? 0.5f * (lo + hi) : lo + (hi - lo) * static_cast<float>(j) / static_cast<float>(k - 1);
    return c;
}

SharedCodebook kmeans_share(std::span<const float> weights, int bits, int max_iterations) {
    if (bits < 1 || bits > 16) throw Error("kmeans", "bits must be in [1, 16], got " + std::to_string(bits));
    const int k = 1 << bits;
    SharedCodebook c;
    c.assignment.assign(weights.size(), -1);
    std::vector<float> distinct;
    for (float w : weights) {
        if (!std::isfinite(w)) throw Error("kmeans", "weights hold NaN or Inf");
        if (w != 0.0f) distinct.push_back(w);
    }
    if (distinct.empty()) return c;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (distinct.size() <= static_cast<size_t>(k)) {
        c.centroids = distinct;
        for (size_t i = 0; i < weights.size(); ++i)
            if (weights[i] != 0.0f) c.assignment[i] = nearest(c.centroids, weights[i]);
        return c;
    }
    c.centroids = linear_centroids(distinct.front(), distinct.back(), k);
    std::vector<double> sum(k);
    std::vector<int64_t> count(k);
    for (c.iterations = 1; c.iterations <= max_iterations; ++c.iterations) {
        bool changed = false;
        std::fill(sum.begin(), sum.end(), 0.0);
        std::fill(count.begin(), count.end(), 0);
        for (size_t i = 0; i < weights.size(); ++i) {
            if (weights[i] == 0.0f) continue;
            const int32_t a = nearest(c.centroids, weights[i]);
            changed |= a != c.assignment[i];
            c.assignment[i] = a;
            sum[a] += weights[i];
            ++count[a];
        }
        // An empty cluster keeps its centroid; means stay in order, so the centroids stay ascending.
        for (int j = 0; j < k; ++j)
            if (count[j] > 0) c.centroids[j] = static_cast<float>(sum[j] / static_cast<double>(count[j]));
        if (!changed) break;
    }
    c.iterations = std::min(c.iterations, max_iterations);
    // The last update moved centroids after the assignment: reassign once so each weight has its nearest.
    for (size_t i = 0; i < weights.size(); ++i)
        if (weights[i] != 0.0f) c.assignment[i] = nearest(c.centroids, weights[i]);
    drop_unused(c);
    return c;
}

std::vector<float> shared_values(const SharedCodebook& c) {
    std::vector<float> out(c.assignment.size(), 0.0f);
    for (size_t i = 0; i < out.size(); ++i)
        if (c.assignment[i] >= 0) out[i] = c.centroids[c.assignment[i]];
    return out;
}

}  // namespace tern::quant
