// nas/proxies: the zero-shot scores of an untrained architecture.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "nas/cost.h"
#include "nas/proxies.h"
#include "nas/sampler.h"
#include "nn/data/rng.h"

using namespace tern;
using namespace tern::nas;

namespace {

Tensor nas_proxies_random_images(int64_t n, uint64_t seed) {
    Tensor t = Tensor::empty({n, 1, 28, 28});
    tern::data::Rng rng(seed);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(rng.below(1000)) / 1000.0f;
    return t;
}

}  // namespace

TEST(NasProxies, FiniteDeterministicAndCountsMatchCost) {
    const Arch a = smallest_arch(mobilenet_space());
    const Tensor x = nas_proxies_random_images(8, 1);
    const std::vector<int32_t> y = {0, 1, 2, 3, 4, 5, 6, 7};
    const ProxyScores p = compute_proxies(a, x, y, 1), q = compute_proxies(a, x, y, 1);
    EXPECT_EQ(p.params, static_cast<double>(arch_cost(a).params));
    EXPECT_EQ(p.macs, static_cast<double>(arch_cost(a).macs));
    for (const auto& n : proxy_names()) {
        EXPECT_TRUE(std::isfinite(proxy_value(p, n))) << n;
        EXPECT_EQ(proxy_value(p, n), proxy_value(q, n)) << n;
    }
    EXPECT_GT(p.grad_norm, 0);
    EXPECT_GT(p.snip, 0);
    EXPECT_GT(p.synflow, 0);
    // NASWOT's kernel has N_A on the diagonal and less off it: log det below n log N_A.
    EXPECT_GT(p.naswot, 0);
}

TEST(NasProxies, NaswotOfIdenticalImagesIsSingular) {
    const Arch a = smallest_arch(mobilenet_space());
    Tensor x = Tensor::zeros({4, 1, 28, 28});
    const ProxyScores p = compute_proxies(a, x, {0, 1, 2, 3}, 1);
    EXPECT_EQ(p.naswot, -INFINITY);  // every image has the same code: K is rank one
}

TEST(NasProxies, SynflowStaysFiniteOnTheLargestArchitecture) {
    // All-positive weights grow activations layer by layer; ReLU6 clips them, so
    // synflow on this space must stay finite and non-zero even at full size.
    const Space s = mobilenet_space();
    Arch a = smallest_arch(s);
    a.width = 1.0;
    for (auto& st : a.stages) st.blocks.assign(4, BlockArch{7, 6});
    const ProxyScores p = compute_proxies(a, nas_proxies_random_images(2, 3), {1, 2}, 1);
    EXPECT_TRUE(std::isfinite(p.synflow));
    EXPECT_GT(p.synflow, 0);
    std::printf("largest architecture: synflow %g, naswot %g, snip %g, grad_norm %g\n", p.synflow, p.naswot, p.snip,
                p.grad_norm);
}
