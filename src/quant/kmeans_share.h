#pragma once
// K-means weight sharing (Deep Compression, Han et al. 2016, stage 2): the
// weights of one layer are replaced by the nearest of k = 2^bits shared
// values. Centroids start spaced linearly between the smallest and largest
// weight (the paper's best initialisation: it keeps the few large weights
// represented) and move by Lloyd iterations. Exact zeros are pruned weights:
// they are not clustered and stay zero.
#include <cstdint>
#include <span>
#include <vector>

namespace tern::quant {

struct SharedCodebook {
    std::vector<float> centroids;     // ascending; only centroids some weight uses
    std::vector<int32_t> assignment;  // per weight: its centroid, -1 for an exact zero
    int iterations = 0;               // Lloyd iterations run
};

// Clusters `weights` into at most 2^bits (bits in [1, 16]) shared values. A
// tensor with at most 2^bits distinct nonzero values keeps them exactly (so
// sharing an already shared tensor changes nothing).
SharedCodebook kmeans_share(std::span<const float> weights, int bits, int max_iterations = 100);

// The linear initialisation: k values evenly spaced over [lo, hi].
std::vector<float> linear_centroids(float lo, float hi, int k);

// Each weight replaced by its centroid (zeros stay zero).
std::vector<float> shared_values(const SharedCodebook& c);

}  // namespace tern::quant
