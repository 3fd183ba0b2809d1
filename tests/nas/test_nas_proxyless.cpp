// ProxylessNAS: the supernet's slots and the Arch <-> choice mapping, the
// latency loss's gradient in alpha against central finite differences, the
// two-path gate estimator against its defining formula, and short searches
// on synthetic images (an architecture of the space within the budget, or
// the budget error).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "nas/arch.h"
#include "nas/cost.h"
#include "nas/proxyless.h"
#include "nas/sampler.h"
#include "nn/data/image_dataset.h"

using namespace tern;
using namespace tern::nas;

namespace {

// A latency model with no clock in it: microseconds proportional to the layer's
// multiply-accumulates (what the table measures, up to the machine's speed).
double macs_us(const hw::LayerConfig& c) {
    const int64_t o = c.out_size();
    switch (c.kind) {
        case hw::LayerKind::mbconv: {
            const int64_t hid = c.in_channels * c.expansion;
            return 1e-3 * static_cast<double>((c.expansion > 1 ? c.size * c.size * c.in_channels * hid : 0) +
                                              o * o * hid * c.kernel * c.kernel + o * o * hid * c.out_channels) + 1.0;
        }
        case hw::LayerKind::conv: return 1e-3 * static_cast<double>(o * o * c.in_channels * c.out_channels * c.kernel * c.kernel) + 1.0;
        case hw::LayerKind::linear: return 1e-3 * static_cast<double>(c.in_channels * c.out_channels) + 1.0;
        default: return 1e-3 * static_cast<double>(c.size * c.size * c.in_channels) + 0.5;
    }
}

// "Measured" end-to-end latency: 1.5 x the MAC count (so the calibration has a factor to find).
double macs_ms(const Arch& a) { return 1.5e-6 * static_cast<double>(arch_cost(a).macs) + 0.01; }

data::ImageDataset noise_images(int64_t n, uint64_t seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::uniform_real_distribution<float> u(0, 1);
    std::vector<float> px(static_cast<size_t>(n * 28 * 28));
    for (float& x : px) x = u(rng);
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i % 10);
    return data::make_image_dataset(Tensor::from_floats({n, 28, 28}, px), labels, 10, data::fashion_mnist_normalization());
}

ProxylessOptions fast_options(double target_ms) {
    ProxylessOptions o;
    o.latency_ms = target_ms;
    o.batch_size = 8;
    o.max_steps = 2;
    o.warmup_fraction = 0;  // both steps update alpha too
    o.layer_latency = macs_us;
    o.measured = macs_ms;
    return o;
}

}  // namespace

TEST(Proxyless, SlotsCoverTheSpaceAndMapArchitecturesBothWays) {
    const Space s = mobilenet_space();
    const auto slots = mixed_slots(s, 1.0, "test");
    ASSERT_EQ(slots.size(), 16u);  // 4 stages x up to 4 blocks
    for (const MixedSlot& slot : slots) {
        // 3 kernels x 3 expansions, plus the zero op past the smallest depth (2).
        EXPECT_EQ(slot.ops.size(), slot.index >= 2 ? 10u : 9u);
        if (slot.index > 0) {
            EXPECT_EQ(slot.stride, 1);
        }
    }
    EXPECT_EQ(slots[4].stride, 2);  // stage 1 starts 28 -> 14
    EXPECT_EQ(slots[4].size, 28);
    EXPECT_EQ(slots[5].size, 14);
    EXPECT_EQ(slots[15].size, 7);
    data::Rng rng(7);
    for (int i = 0; i < 50; ++i) {
        Arch a = sample_arch(s, rng);
        a.width = 1.0;
        const std::vector<int> c = arch_choice(a, slots);
        EXPECT_EQ(choice_arch(s, 1.0, slots, c), a);
    }
    // Skips in the middle of a stage still give an architecture of the space.
    std::vector<int> c(slots.size(), 0);
    c[2] = 9;  // stage 0: keep, keep, skip, keep -> depth 3
    const Arch a = choice_arch(s, 1.0, slots, c);
    EXPECT_EQ(a.stages[0].blocks.size(), 3u);
    EXPECT_EQ(arch_outside_space(a, s), "");
}

TEST(Proxyless, NonContiguousDepthsAreOneError) {
    Space s = mobilenet_space();
    s.stages[1].depths = {2, 4};
    try {
        mixed_slots(s, 1.0, "space.json");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("space.json"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("contiguous"), std::string::npos) << e.what();
    }
}

TEST(Proxyless, LatencyLossGradientMatchesFiniteDifferences) {
    const Space s = mobilenet_space();
    const auto slots = mixed_slots(s, 0.75, "test");
    SlotLatencies lat = slot_latencies(s, 0.75, slots, macs_us);
    apply_scale(lat, 1.3);
    std::mt19937 rng(3);
    std::normal_distribution<double> n(0, 1);
    std::vector<std::vector<double>> alpha;
    for (const MixedSlot& slot : slots) {
        alpha.emplace_back();
        for (size_t k = 0; k < slot.ops.size(); ++k) alpha.back().push_back(n(rng));
    }
    const double ce = 1.7, beta = 0.6;
    const double target = 0.8 * expected_latency(lat, alpha).ms;
    auto loss = [&](const std::vector<std::vector<double>>& a) {
        return latency_loss(ce, expected_latency(lat, a).ms, target, beta).loss;
    };
    const ExpectedLatency el = expected_latency(lat, alpha);
    const LatencyLoss ll = latency_loss(ce, el.ms, target, beta);
    EXPECT_NEAR(ll.loss, ce * std::pow(el.ms / target, beta), 1e-12);
    double worst = 0, largest = 0;
    for (size_t i = 0; i < alpha.size(); ++i)
        for (size_t k = 0; k < alpha[i].size(); ++k) {
            const double h = 1e-5;
            auto up = alpha, down = alpha;
            up[i][k] += h;
            down[i][k] -= h;
            const double fd = (loss(up) - loss(down)) / (2 * h);
            const double analytic = ll.d_latency * el.grad[i][k];
            worst = std::max(worst, std::abs(fd - analytic));
            largest = std::max(largest, std::abs(analytic));
        }
    EXPECT_GT(largest, 1e-4) << "a gradient this small would not test anything";
    EXPECT_LT(worst, 1e-6 * std::max(1.0, largest)) << "largest |grad| " << largest;
    // E[lat] at uniform alpha is the plain mean of each slot's candidates.
    std::vector<std::vector<double>> zeros;
    double mean = lat.fixed_ms;
    for (const auto& ms : lat.op_ms) {
        zeros.emplace_back(ms.size(), 0.0);
        double sum = 0;
        for (double m : ms) sum += m;
        mean += sum / static_cast<double>(ms.size());
    }
    EXPECT_NEAR(expected_latency(lat, zeros).ms, mean, 1e-9);
    // d loss / d CE is the latency factor.
    EXPECT_NEAR(ll.d_ce, std::pow(el.ms / target, beta), 1e-12);
}

TEST(Proxyless, TwoStepSearchReturnsAnArchitectureWithinTheBudget) {
    const Space s = mobilenet_space();
    const auto train = noise_images(32, 1), val = noise_images(16, 2);
    // Between the fastest and the slowest architecture at width 1.
    const auto slots = mixed_slots(s, 1.0, "test");
    const SlotLatencies lat = slot_latencies(s, 1.0, slots, macs_us);
    double lo = lat.fixed_ms, hi = lat.fixed_ms;
    for (const auto& ms : lat.op_ms) {
        lo += *std::min_element(ms.begin(), ms.end());
        hi += *std::max_element(ms.begin(), ms.end());
    }
    ProxylessOptions o = fast_options(0);
    const ProxylessResult probe = [&] {
        o.latency_ms = 1e9;
        return proxyless_search(s, train, val, o);
    }();
    const double scale = probe.latency_scale;
    EXPECT_GT(scale, 1.0) << "the calibration finds the 'measured' factor";
    o.latency_ms = scale * (lo + 0.3 * (hi - lo));
    const ProxylessResult r = proxyless_search(s, train, val, o);
    EXPECT_EQ(r.steps.size(), 2u);
    EXPECT_TRUE(r.steps[0].arch_step && r.steps[1].arch_step);
    EXPECT_TRUE(std::isfinite(r.steps[1].val_ce));
    EXPECT_EQ(arch_outside_space(r.arch, s), "");
    EXPECT_LE(r.predicted_ms, o.latency_ms);
    EXPECT_NEAR(r.predicted_ms, r.latency_scale * slot_latencies(s, r.width, r.slots, macs_us).of(arch_choice(r.arch, r.slots)),
                1e-9);
    EXPECT_EQ(r.width, 1.0);
    // Alpha moved: two steps of Adam at lr 6e-3 change every drawn pair.
    double moved = 0;
    for (const auto& a : r.alpha)
        for (double x : a) moved = std::max(moved, std::abs(x));
    EXPECT_GT(moved, 1e-3);
    // Same seed, same search.
    const ProxylessResult again = proxyless_search(s, train, val, o);
    EXPECT_EQ(again.arch, r.arch);
    EXPECT_EQ(again.alpha, r.alpha);
}

TEST(Proxyless, TightBudgetRepairsTheArgmaxAndAnImpossibleOneIsOneError) {
    const Space s = mobilenet_space();
    const auto train = noise_images(16, 3), val = noise_images(8, 4);
    ProxylessOptions o = fast_options(1e9);
    o.max_steps = 1;
    const ProxylessResult probe = proxyless_search(s, train, val, o);
    // Just above the fastest architecture at the narrowest width: the argmax
    // (ties at the first op, kernel 3 / expansion 3, with no skips) is slower.
    const auto slots = mixed_slots(s, 0.5, "test");
    SlotLatencies lat = slot_latencies(s, 0.5, slots, macs_us);
    apply_scale(lat, probe.latency_scale);
    double fastest = lat.fixed_ms;
    for (const auto& ms : lat.op_ms) fastest += *std::min_element(ms.begin(), ms.end());
    o.latency_ms = fastest * 1.02;
    const ProxylessResult r = proxyless_search(s, train, val, o);
    EXPECT_EQ(r.width, 0.5);
    EXPECT_GT(r.repairs, 0);
    EXPECT_LE(r.predicted_ms, o.latency_ms);
    EXPECT_EQ(arch_outside_space(r.arch, s), "");

    o.latency_ms = fastest * 0.9;
    try {
        proxyless_search(s, train, val, o);
        FAIL() << "expected the budget error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.where(), "budget");
        EXPECT_NE(std::string(e.what()).find("no architecture of the search space meets it"), std::string::npos) << e.what();
    }
}
