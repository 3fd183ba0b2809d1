// DARTS (first order): the mixed forward against the one-path forward, the
// alpha gradient against central finite differences, alpha moving toward the
// op the rest of the network was trained with, a strong latency term moving
// alpha toward cheap ops, determinism for a seed, and the budget error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "core/error.h"
#include "nas/arch.h"
#include "nas/cost.h"
#include "nas/darts.h"
#include "nas/proxyless_supernet.h"
#include "nas/supernet_budget.h"
#include "nn/data/image_dataset.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"

using namespace tern;
using namespace tern::nas;

namespace {

// Two stages, depth 1-2 each, kernels 3/5, expansions 1/2: 4 slots of 4 or 5 ops (skip past depth 1).
Space darts_test_space() {
    Space s;
    s.stem = 8;
    s.head = 16;
    s.stages = {{8, 2, {1, 2}}, {16, 2, {1, 2}}};
    s.kernels = {3, 5};
    s.expansions = {1, 2};
    s.widths = {1.0};
    return s;
}

// Microseconds proportional to a layer's multiply-accumulates (no clock).
double darts_test_macs_us(const hw::LayerConfig& c) {
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

double darts_test_macs_ms(const Arch& a) { return 1.5e-6 * static_cast<double>(arch_cost(a).macs) + 0.01; }

// Class c (0..3) is a bright 10x10 square in quadrant c, on noise.
data::ImageDataset darts_test_images(int64_t n, uint64_t seed) {
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::uniform_real_distribution<float> u(0, 0.3f);
    std::vector<float> px(static_cast<size_t>(n * 28 * 28));
    std::vector<int32_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int32_t c = static_cast<int32_t>(i % 4);
        labels[static_cast<size_t>(i)] = c;
        float* img = px.data() + i * 28 * 28;
        for (int64_t p = 0; p < 28 * 28; ++p) img[p] = u(rng);
        const int64_t y0 = c / 2 * 14 + 2, x0 = c % 2 * 14 + 2;
        for (int64_t y = y0; y < y0 + 10; ++y)
            for (int64_t x = x0; x < x0 + 10; ++x) img[y * 28 + x] += 0.7f;
    }
    return data::make_image_dataset(Tensor::from_floats({n, 28, 28}, px), labels, 10, data::fashion_mnist_normalization());
}

Tensor darts_test_batch(const data::ImageDataset& d, int64_t n) {
    Tensor t = Tensor::empty({n, d.channels(), 28, 28});
    std::copy(d.image(0), d.image(0) + n * d.image_numel(), t.data<float>());
    return t;
}

std::vector<int64_t> darts_test_targets(const data::ImageDataset& d, int64_t n) {
    return {d.labels.begin(), d.labels.begin() + n};
}

std::vector<nn::Var> darts_test_weights(const std::vector<std::vector<double>>& w) {
    std::vector<nn::Var> out;
    for (const auto& a : w) {
        std::vector<float> v(a.begin(), a.end());
        out.emplace_back(Tensor::from_floats({static_cast<int64_t>(v.size())}, v));
    }
    return out;
}

DartsOptions darts_test_options() {
    DartsOptions o;
    o.batch_size = 8;
    o.max_steps = 2;
    o.layer_latency = darts_test_macs_us;
    o.measured = darts_test_macs_ms;
    return o;
}

}  // namespace

TEST(Darts, MixedForwardWithOneHotWeightsIsTheOnePathForward) {
    const Space s = darts_test_space();
    const auto slots = mixed_slots(s, 1.0, "test");
    ASSERT_EQ(slots.size(), 4u);
    Supernet net(s, 1.0, slots, 1, 10, 5);
    const auto d = darts_test_images(6, 1);
    const nn::Var x(darts_test_batch(d, 6));
    std::mt19937 rng(2);
    for (bool training : {true, false}) {
        net.train(training);
        for (int trial = 0; trial < 4; ++trial) {
            std::vector<int> path;
            std::vector<std::vector<double>> onehot;
            for (const MixedSlot& slot : slots) {
                path.push_back(static_cast<int>(rng() % slot.ops.size()));
                onehot.emplace_back(slot.ops.size(), 0.0);
                onehot.back()[static_cast<size_t>(path.back())] = 1.0;
            }
            const Tensor a = net.forward(x, path).value(), b = net.forward_mixed(x, darts_test_weights(onehot)).value();
            ASSERT_EQ(a.shape(), b.shape());
            float worst = 0;
            for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.data<float>()[i] - b.data<float>()[i]));
            EXPECT_LE(worst, 1e-6f) << "training " << training << " trial " << trial;
        }
    }
    // A mixture is not any one path: uniform weights differ from the first op's path.
    std::vector<std::vector<double>> uniform;
    for (const MixedSlot& slot : slots) uniform.emplace_back(slot.ops.size(), 1.0 / static_cast<double>(slot.ops.size()));
    net.train(false);
    const Tensor a = net.forward(x, std::vector<int>(slots.size(), 0)).value(), b = net.forward_mixed(x, darts_test_weights(uniform)).value();
    float diff = 0;
    for (int64_t i = 0; i < a.numel(); ++i) diff = std::max(diff, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    EXPECT_GT(diff, 1e-4f);
}

TEST(Darts, AlphaGradientMatchesFiniteDifferences) {
    const Space s = darts_test_space();
    const auto slots = mixed_slots(s, 1.0, "test");
    Supernet net(s, 1.0, slots, 1, 10, 7);
    net.train(true);  // batch statistics (a function of the batch): activations of order 1, so a gradient worth testing
    const auto d = darts_test_images(8, 3);
    const Tensor images = darts_test_batch(d, 8);
    const auto targets = darts_test_targets(d, 8);
    std::mt19937 rng(4);
    std::normal_distribution<double> n(0, 0.7);
    std::vector<std::vector<double>> alpha;
    for (const MixedSlot& slot : slots) {
        alpha.emplace_back();
        for (size_t k = 0; k < slot.ops.size(); ++k) alpha.back().push_back(n(rng));
    }
    double ce = 0;
    const auto grad = darts_alpha_gradient(net, alpha, images, targets, &ce);
    auto loss = [&](const std::vector<std::vector<double>>& a) {
        std::vector<nn::Var> w;
        for (const auto& row : darts_test_weights(a)) w.push_back(nn::softmax(row));
        nn::NoGradGuard no_grad;
        return static_cast<double>(nn::cross_entropy(net.forward_mixed(nn::Var(images), w), targets).item());
    };
    EXPECT_NEAR(loss(alpha), ce, 1e-6);
    // Central differences of a float32 loss through relu6 kinks: each entry is
    // good to ~1e-4 (rounding of a ~2.3 loss over 2h), so the vectors are
    // compared as a whole.
    double dot = 0, nn2 = 0, fd2 = 0, err2 = 0, largest = 0;
    for (size_t i = 0; i < alpha.size(); ++i)
        for (size_t k = 0; k < alpha[i].size(); ++k) {
            const double h = 1e-3;
            auto up = alpha, down = alpha;
            up[i][k] += h;
            down[i][k] -= h;
            const double fd = (loss(up) - loss(down)) / (2 * h), an = grad[i][k];
            dot += fd * an;
            nn2 += an * an;
            fd2 += fd * fd;
            err2 += (fd - an) * (fd - an);
            largest = std::max(largest, std::abs(an));
        }
    const double rel = std::sqrt(err2 / nn2), cosine = dot / std::sqrt(nn2 * fd2);
    std::printf("[darts] alpha gradient: largest %.3g, |fd - analytic| / |analytic| %.3g, cosine %.5f\n", largest, rel, cosine);
    EXPECT_GT(largest, 1e-3) << "a gradient this small would not test anything";
    EXPECT_LT(rel, 0.1);
    EXPECT_GT(cosine, 0.99);
    // Softmax's gradient sums to zero within each slot.
    for (const auto& g : grad) {
        double sum = 0;
        for (double x : g) sum += x;
        EXPECT_NEAR(sum, 0, 1e-5);
    }
}

// One slot of two ops; the network around it is trained through one of them
// only, so the other is an untrained op the head has never seen: a few alpha
// steps on the mixture must move softmax(alpha) toward the trained op.
TEST(Darts, AlphaMovesTowardTheOpTheNetworkWasTrainedWith) {
    Space s;
    s.stem = 8;
    s.head = 16;
    s.stages = {{8, 2, {1}}};
    s.kernels = {3};
    s.expansions = {1, 2};
    s.widths = {1.0};
    const auto slots = mixed_slots(s, 1.0, "test");
    ASSERT_EQ(slots.size(), 1u);
    ASSERT_EQ(slots[0].ops.size(), 2u);
    const auto d = darts_test_images(64, 5);
    for (int good : {0, 1}) {
        Supernet net(s, 1.0, slots, 1, 10, 11);
        net.train(true);
        std::vector<nn::Var> params = net.shared_parameters();
        for (const nn::Var& p : net.op_parameters(0, good)) params.push_back(p);
        nn::SgdOptions so;
        so.lr = 0.05f;
        so.momentum = 0.9f;
        nn::SGD opt(params, so);
        double first = 0, last = 0;
        for (int step = 0; step < 30; ++step) {
            const int64_t off = (step % 4) * 16;
            Tensor xb = Tensor::empty({16, 1, 28, 28});
            std::copy(d.image(off), d.image(off) + 16 * d.image_numel(), xb.data<float>());
            opt.zero_grad();
            nn::Var ce = nn::cross_entropy(net.forward(nn::Var(xb), {good}), {d.labels.begin() + off, d.labels.begin() + off + 16});
            (step == 0 ? first : last) = ce.item();
            ce.backward();
            opt.step();
        }
        ASSERT_LT(last, first) << "the path did not train";
        std::vector<std::vector<double>> alpha{{0.0, 0.0}};
        AlphaAdam adam;
        const AlphaAdamOptions ao{0.05, 0.5, 0.999, 1e-3};
        const Tensor images = darts_test_batch(d, 32);
        const auto targets = darts_test_targets(d, 32);
        for (int step = 0; step < 5; ++step) adam.step(alpha, darts_alpha_gradient(net, alpha, images, targets), ao);
        const auto p = softmax(alpha[0]);
        EXPECT_GT(p[static_cast<size_t>(good)], 0.55) << "trained op " << good << ": p = " << p[0] << ", " << p[1];
    }
}

TEST(Darts, StrongLatencyTermMovesAlphaTowardCheapOpsAndASeedRepeats) {
    const Space s = darts_test_space();
    const auto train = darts_test_images(32, 6), val = darts_test_images(16, 7);
    DartsOptions o = darts_test_options();
    o.max_steps = 4;
    o.arch_lr = 0.05;
    o.beta = 4;
    const auto slots = mixed_slots(s, 1.0, "test");
    const SlotLatencies table = slot_latencies(s, 1.0, slots, darts_test_macs_us);
    std::vector<std::vector<double>> zeros;
    for (const MixedSlot& slot : slots) zeros.emplace_back(slot.ops.size(), 0.0);
    // Half the uniform mixture's latency (the calibration scales table and target alike).
    const DartsResult probe = [&] {
        DartsOptions p = o;
        p.max_steps = 1;
        return darts_search(s, train, val, p);
    }();
    double fastest = table.fixed_ms;
    for (const auto& ms : table.op_ms) fastest += *std::min_element(ms.begin(), ms.end());
    o.latency_ms = probe.latency_scale * std::max(0.5 * expected_latency(table, zeros).ms, 1.05 * fastest);
    const DartsResult r = darts_search(s, train, val, o);
    ASSERT_EQ(r.steps.size(), 4u);
    EXPECT_TRUE(r.steps[0].arch_step);
    EXPECT_LT(r.steps.back().expected_ms, r.latency_scale * expected_latency(table, zeros).ms);
    EXPECT_LT(r.steps.back().expected_ms, r.steps.front().expected_ms);
    for (size_t i = 0; i < slots.size(); ++i) {
        const auto& ms = table.op_ms[i];
        const auto p = softmax(r.alpha[i]);
        const auto cheap = static_cast<size_t>(std::min_element(ms.begin(), ms.end()) - ms.begin());
        const auto dear = static_cast<size_t>(std::max_element(ms.begin(), ms.end()) - ms.begin());
        EXPECT_GT(p[cheap], 1.0 / static_cast<double>(p.size())) << "slot " << i;
        EXPECT_LT(p[dear], 1.0 / static_cast<double>(p.size())) << "slot " << i;
    }
    EXPECT_LE(r.predicted_ms, o.latency_ms);
    EXPECT_EQ(arch_outside_space(r.arch, s), "");
    // Same seed, same search; another seed, other alphas.
    const DartsResult again = darts_search(s, train, val, o);
    EXPECT_EQ(again.alpha, r.alpha);
    EXPECT_EQ(again.arch, r.arch);
    ASSERT_EQ(again.steps.size(), r.steps.size());
    EXPECT_EQ(again.steps.back().train_ce, r.steps.back().train_ce);
    o.seed = 2;
    EXPECT_NE(darts_search(s, train, val, o).alpha, r.alpha);
}

TEST(Darts, NoLatencyTermAndTheBudgetErrors) {
    const Space s = darts_test_space();
    const auto train = darts_test_images(16, 8), val = darts_test_images(8, 9);
    DartsOptions o = darts_test_options();
    o.max_steps = 1;
    const DartsResult r = darts_search(s, train, val, o);  // CE alone
    EXPECT_EQ(r.steps.size(), 1u);
    EXPECT_DOUBLE_EQ(r.steps[0].loss, r.steps[0].val_ce);
    EXPECT_EQ(r.repairs, 0);
    EXPECT_EQ(r.arch, r.argmax);
    // Below the fastest architecture: one error naming the budget.
    o.latency_ms = 1e-6;
    try {
        darts_search(s, train, val, o);
        FAIL() << "expected the budget error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.where(), "budget");
        EXPECT_NE(std::string(e.what()).find("no architecture of the search space meets it"), std::string::npos) << e.what();
    }
    o.latency_ms = 0;
    o.macs = 10;
    EXPECT_THROW(darts_search(s, train, val, o), InputError);
    o.macs = 0;
    o.arch_weight_decay = -1;
    EXPECT_THROW(darts_search(s, train, val, o), UsageError);
}
