// The block-diagonal fast Walsh–Hadamard transform against a naive product
// with the Hadamard matrix built from its definition, (-1)^popcount(i & j).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/hadamard/hadamard.h"

namespace tern {
namespace {

// y = blockdiag(H_b / sqrt(b)) x, in double, one dot product per output.
std::vector<double> naive_hadamard(const std::vector<double>& x, int64_t block) {
    std::vector<double> y(x.size(), 0.0);
    const double s = 1.0 / std::sqrt(double(block));
    for (size_t b0 = 0; b0 < x.size(); b0 += static_cast<size_t>(block))
        for (int64_t i = 0; i < block; ++i) {
            double acc = 0;
            for (int64_t j = 0; j < block; ++j) {
                const double h = (std::popcount(static_cast<uint64_t>(i & j)) % 2) ? -1.0 : 1.0;
                acc += h * x[b0 + static_cast<size_t>(j)];
            }
            y[b0 + static_cast<size_t>(i)] = acc * s;
        }
    return y;
}

TEST(Hadamard, BlockTransformMatchesTheNaiveMatrixProduct) {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> nd;
    // (n, block): one block, several blocks, 1408 = 11 x 128 (a SwiGLU width), trivial block 1.
    for (auto [n, block] : {std::pair<int64_t, int64_t>{1, 1}, {2, 2}, {64, 64}, {96, 32}, {1408, 128}, {256, 4}, {7, 1}}) {
        std::vector<double> x(static_cast<size_t>(n));
        for (double& v : x) v = nd(rng);
        const std::vector<double> want = naive_hadamard(x, block);
        std::vector<double> got = x;
        fwht_blocks(got.data(), n, block);
        std::vector<float> got_f(x.begin(), x.end());
        fwht_blocks(got_f.data(), n, block);
        for (size_t i = 0; i < x.size(); ++i) {
            EXPECT_NEAR(got[i], want[i], 1e-12) << "n " << n << " block " << block << " i " << i;
            EXPECT_NEAR(got_f[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << "f32 n " << n << " block " << block;
        }
    }
}

TEST(Hadamard, IsOrthogonalAndItsOwnInverse) {
    std::mt19937_64 rng(3);
    std::normal_distribution<double> nd;
    std::vector<double> x(512);
    for (double& v : x) v = nd(rng);
    std::vector<double> y = x;
    fwht_blocks(y.data(), 512, 256);
    double nx = 0, ny = 0;
    for (size_t i = 0; i < x.size(); ++i) nx += x[i] * x[i], ny += y[i] * y[i];
    EXPECT_NEAR(ny, nx, 1e-9 * nx);  // norm kept
    fwht_blocks(y.data(), 512, 256);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-12);
}

TEST(Hadamard, BlockOfAWidthIsItsLargestPowerOfTwoFactor) {
    EXPECT_EQ(largest_power_of_two_factor(1408), 128);
    EXPECT_EQ(largest_power_of_two_factor(5632), 512);
    EXPECT_EQ(largest_power_of_two_factor(2048), 2048);
    EXPECT_EQ(largest_power_of_two_factor(7), 1);
    EXPECT_TRUE(is_power_of_two(128));
    EXPECT_FALSE(is_power_of_two(96));
    EXPECT_FALSE(is_power_of_two(0));
}

}  // namespace
}  // namespace tern
