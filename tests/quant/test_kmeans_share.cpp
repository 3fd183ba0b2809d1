// K-means weight sharing (quant/kmeans_share.h) and the shared-tensor storage
// (io/shared_weights.h): Lloyd's fixed point (every weight at its nearest
// centroid, every centroid its members' mean), the linear initialisation,
// zeros kept out, exact codebooks for already-shared tensors, and encode ->
// decode round trips (dense / sparse with filler gaps, fixed / Huffman).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "core/error.h"
#include "io/shared_weights.h"
#include "quant/kmeans_share.h"

using namespace tern;

namespace {

std::vector<float> gaussian(size_t n, uint32_t seed, double zero_fraction = 0) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 0.05f);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<float> w(n);
    for (auto& x : w) x = u(rng) < zero_fraction ? 0.0f : g(rng);
    return w;
}

std::vector<float> kmeans_share_decode(const io::EncodedSharedWeight& e) {
    std::vector<NamedTensor> tensors = e.tensors;
    const Shape shape = e.spec.shape;
    io::decode_shared_weights(tensors, io::shared_weights_metadata({e.spec}), "t.safetensors",
                              [&](const std::string&) { return &shape; });
    EXPECT_EQ(tensors.size(), 1u);
    return tensors.at(0).tensor.to_floats();
}

}  // namespace

TEST(KmeansShare, LinearInitialisationSpansMinToMax) {
    const auto c = quant::linear_centroids(-1.0f, 2.0f, 4);
    EXPECT_EQ(c, (std::vector<float>{-1.0f, 0.0f, 1.0f, 2.0f}));
}

TEST(KmeansShare, LloydFixedPointKeepsZerosOut) {
    const auto w = gaussian(20000, 1, 0.3);
    for (int bits : {2, 4}) {
        const auto c = quant::kmeans_share(w, bits, 100000);
        ASSERT_LT(c.iterations, 100000);  // converged: assignments stable
        ASSERT_LE(c.centroids.size(), size_t{1} << bits);
        ASSERT_TRUE(std::is_sorted(c.centroids.begin(), c.centroids.end()));
        std::vector<double> sum(c.centroids.size(), 0);
        std::vector<int64_t> count(c.centroids.size(), 0);
        for (size_t i = 0; i < w.size(); ++i) {
            if (w[i] == 0.0f) {
                ASSERT_EQ(c.assignment[i], -1);
                continue;
            }
            const int32_t a = c.assignment[i];
            ASSERT_GE(a, 0);
            for (float other : c.centroids) ASSERT_LE(std::fabs(w[i] - c.centroids[a]), std::fabs(w[i] - other) + 1e-7f);
            sum[a] += w[i];
            ++count[a];
        }
        for (size_t j = 0; j < c.centroids.size(); ++j) {
            ASSERT_GT(count[j], 0);  // unused centroids are dropped
            EXPECT_NEAR(c.centroids[j], sum[j] / static_cast<double>(count[j]), 1e-5);
        }
        // The extremes keep their own clusters: linear init puts a centroid at each end.
        const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
        EXPECT_EQ(c.assignment[lo - w.begin()], 0);
        EXPECT_EQ(c.assignment[hi - w.begin()], static_cast<int32_t>(c.centroids.size() - 1));
    }
}

TEST(KmeansShare, SharingASharedTensorChangesNothing) {
    const auto w = gaussian(5000, 2, 0.5);
    const auto once = quant::shared_values(quant::kmeans_share(w, 4));
    EXPECT_LE(std::set<float>(once.begin(), once.end()).size(), 17u);  // 16 values and zero
    const auto twice = quant::shared_values(quant::kmeans_share(once, 4));
    EXPECT_EQ(once, twice);
    EXPECT_THROW(quant::kmeans_share(w, 0), Error);
}

TEST(SharedWeights, RoundTripsDenseAndSparseFixedAndHuffman) {
    for (bool huffman : {false, true})
        for (double zeros : {0.0, 0.9, 0.999}) {
            const Shape shape{300, 40};
            const auto w = quant::shared_values(quant::kmeans_share(gaussian(12000, 3, zeros), 4));
            const auto c = quant::kmeans_share(w, 4);
            const int index_bits = zeros > 0 ? 3 : 0;  // small gaps: many fillers at 99.9 % zeros
            const auto e = io::encode_shared_weight("fc.weight", shape, c.centroids, c.assignment, 4, index_bits, huffman);
            EXPECT_EQ(kmeans_share_decode(e), w) << huffman << " " << zeros;
            if (zeros > 0.5) {
                EXPECT_LT(e.bytes(), 12000u * 4 / 10);
            }
        }
}

TEST(SharedWeights, HostileEntriesAreRefusedNamingTheFile) {
    const auto w = quant::shared_values(quant::kmeans_share(gaussian(600, 4, 0.8), 2));
    const auto c = quant::kmeans_share(w, 2);
    const Shape shape{20, 30};
    const auto e = io::encode_shared_weight("fc.weight", shape, c.centroids, c.assignment, 2, 4, true);
    auto error = [&](io::SharedWeightSpec spec, std::vector<NamedTensor> tensors, Shape want) {
        try {
            io::decode_shared_weights(tensors, io::shared_weights_metadata({spec}), "bad.safetensors",
                                      [&](const std::string&) { return &want; });
        } catch (const InputError& x) {
            EXPECT_NE(std::string(x.what()).find("bad.safetensors"), std::string::npos);
            return std::string(x.what());
        }
        return std::string("no error");
    };
    auto spec = e.spec;
    spec.weights += 1;  // more codes than the gaps place
    EXPECT_NE(error(spec, e.tensors, shape).find("fc.weight"), std::string::npos);
    EXPECT_NE(error(e.spec, e.tensors, Shape{30, 20}).find("but the model's is"), std::string::npos);
    auto truncated = e.tensors;
    for (auto& t : truncated)
        if (t.name == "fc.weight.codes") t.tensor = Tensor::zeros({1}, DType::u8);
    EXPECT_NE(error(e.spec, truncated, shape).find("truncated"), std::string::npos);
    auto missing = e.tensors;
    missing.pop_back();
    EXPECT_NE(error(e.spec, missing, shape).find("missing"), std::string::npos);
}
