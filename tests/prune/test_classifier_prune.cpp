// Pruning criteria, masks and schedules for classifiers (prune/criteria,
// classifier_masks, schedule, classifier_prune's hooks) on tiny models.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/ops.h"
#include "nn/optim/optimizer.h"
#include "nn/train/train_loop.h"
#include "prune/classifier_masks.h"
#include "prune/classifier_prune.h"
#include "prune/criteria.h"
#include "prune/schedule.h"

using namespace tern;
using namespace tern::prune;

namespace {

std::vector<std::vector<float>> classifier_prune_random_scores(const std::vector<size_t>& sizes, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    std::vector<std::vector<float>> s;
    for (size_t n : sizes) {
        std::vector<float> v(n);
        for (auto& x : v) x = u(rng);
        s.push_back(std::move(v));
    }
    return s;
}

int64_t zeros(const Mask& m) {
    int64_t z = 0;
    for (uint8_t k : m) z += k == 0;
    return z;
}

// logits = flatten(x) W^T: a classifier small enough to check gradients by hand.
class FlatLinear : public nn::UnaryModule {
public:
    explicit FlatLinear(Tensor w) { weight = register_parameter("fc.weight", std::move(w)); }
    nn::Var forward(const nn::Var& x) override { return nn::linear(nn::flatten(x), weight); }
    nn::Var weight;
};

}  // namespace

TEST(ClassifierPruneMasks, LayerwiseHasExactSparsityPerTensor) {
    const auto s = classifier_prune_random_scores({1000, 37, 5, 784}, 1);
    for (double sp : {0.0, 0.5, 0.9, 0.92}) {
        const auto masks = layerwise_masks(s, sp);
        for (size_t t = 0; t < s.size(); ++t) {
            EXPECT_EQ(zeros(masks[t]), std::llround(sp * static_cast<double>(s[t].size()))) << t << " at " << sp;
            // The pruned are the least salient.
            float most_pruned = -1, least_kept = 2;
            for (size_t i = 0; i < s[t].size(); ++i)
                (masks[t][i] ? least_kept : most_pruned) =
                    masks[t][i] ? std::min(least_kept, s[t][i]) : std::max(most_pruned, s[t][i]);
            EXPECT_LE(most_pruned, least_kept);
        }
    }
}

TEST(ClassifierPruneMasks, GlobalPrunesExactCountBelowOneThreshold) {
    const auto s = classifier_prune_random_scores({2000, 300, 10}, 2);
    const auto masks = global_masks(s, 0.93);
    int64_t z = 0;
    float most_pruned = -1, least_kept = 2;
    for (size_t t = 0; t < s.size(); ++t) {
        z += zeros(masks[t]);
        for (size_t i = 0; i < s[t].size(); ++i) {
            if (masks[t][i]) least_kept = std::min(least_kept, s[t][i]);
            else most_pruned = std::max(most_pruned, s[t][i]);
        }
    }
    EXPECT_EQ(z, std::llround(0.93 * 2310));
    EXPECT_LE(most_pruned, least_kept);
}

TEST(ClassifierPruneMasks, NMKeepsTheNLargestInEveryGroupOfConvRows) {
    // A conv weight (O=4, I=2, 2x2): rows of I*kh*kw = 8 are what the groups run along.
    nn::Conv2d conv(2, 4, nn::Conv2dOptions{2, 1, 0, 1, 1, true}, 3);
    const auto weights = prunable_weights(conv);
    ASSERT_EQ(weights.size(), 1u);  // the bias is not prunable
    EXPECT_EQ(weights[0].rows, 4);
    EXPECT_EQ(weights[0].row_size, 8);
    const auto s = saliency(Criterion::magnitude, weights, nullptr);
    for (auto [n, m] : {std::pair<int64_t, int64_t>{2, 4}, {4, 8}, {1, 4}}) {
        const auto masks = n_m_masks(s, weights, n, m);
        for (size_t g0 = 0; g0 < s[0].size(); g0 += static_cast<size_t>(m)) {
            int64_t kept = 0;
            float least_kept = 1e9f, most_pruned = -1;
            for (size_t i = g0; i < g0 + static_cast<size_t>(m); ++i) {
                kept += masks[0][i];
                if (masks[0][i]) least_kept = std::min(least_kept, s[0][i]);
                else most_pruned = std::max(most_pruned, s[0][i]);
            }
            EXPECT_EQ(kept, n) << n << ":" << m << " group at " << g0;
            EXPECT_LE(most_pruned, least_kept);
        }
    }
    EXPECT_EQ(first_row_not_divisible(weights, 4), nullptr);
    EXPECT_NE(first_row_not_divisible(weights, 16), nullptr);
}

TEST(ClassifierPruneCriteria, TaylorAndObdMatchHandComputedGradients) {
    // One image x = (1, 2), label 0; W = [[1, -2], [0.5, 0]]: logits z = W x = (-3, 0.5),
    // dL/dW = (softmax(z) - e0) x^T.
    FlatLinear model(Tensor::from_floats({2, 2}, std::vector<float>{1.0f, -2.0f, 0.5f, 0.0f}));
    data::ImageDataset ds;
    ds.images = Tensor::from_floats({2, 1, 1, 2}, std::vector<float>{1.0f, 2.0f, 1.0f, 2.0f});
    ds.labels = {0, 0};
    ds.num_classes = 2;
    const auto weights = prunable_weights(model);
    ASSERT_EQ(weights.size(), 1u);
    const GradientStats st = accumulate_gradients(model, weights, ds, 5, 1);  // two batches of one (the data end)
    EXPECT_EQ(st.batches, 2);
    const double p0 = std::exp(-3.0) / (std::exp(-3.0) + std::exp(0.5)), p1 = 1 - p0;
    const double g[4] = {(p0 - 1) * 1, (p0 - 1) * 2, p1 * 1, p1 * 2};
    const double w[4] = {1, -2, 0.5, 0};
    const auto taylor = saliency(Criterion::taylor, weights, &st);
    const auto obd = saliency(Criterion::obd, weights, &st);
    const auto mag = saliency(Criterion::magnitude, weights, nullptr);
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(taylor[0][i], std::fabs(w[i] * g[i]), 1e-5) << i;
        EXPECT_NEAR(obd[0][i], 0.5 * g[i] * g[i] * w[i] * w[i], 1e-5) << i;
        EXPECT_FLOAT_EQ(mag[0][i], std::fabs(w[i]));
    }
    EXPECT_FALSE(model.weight.has_grad() && model.weight.grad().data<float>()[0] != 0.0f);  // left zeroed
    EXPECT_THROW(saliency(Criterion::obd, weights, nullptr), tern::Error);
}

TEST(ClassifierPruneSchedule, AgpFollowsTheCubicFormulaEveryDeltaT) {
    nn::train::PruneRecipe p;
    p.schedule = "agp";
    p.sparsity = 0.9;
    p.initial_sparsity = 0.1;
    p.start_epoch = 2;
    p.end_epoch = 6;
    p.frequency_steps = 10;
    const int64_t spe = 50, t0 = 50, n = 20, dt = 10;  // t0 + n dt = 250 = end_epoch's first step
    auto formula = [&](int64_t t) {
        return 0.9 + (0.1 - 0.9) * std::pow(1.0 - static_cast<double>(t - t0) / static_cast<double>(n * dt), 3);
    };
    EXPECT_EQ(target_sparsity(p, 49, spe), 0.0);
    EXPECT_NEAR(target_sparsity(p, 50, spe), 0.1, 1e-12);
    EXPECT_NEAR(target_sparsity(p, 59, spe), 0.1, 1e-12);  // held until the next update
    EXPECT_NEAR(target_sparsity(p, 60, spe), formula(60), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 137, spe), formula(130), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 240, spe), formula(240), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 250, spe), 0.9, 1e-12);
    EXPECT_NEAR(target_sparsity(p, 5000, spe), 0.9, 1e-12);
    EXPECT_NEAR(agp_sparsity(0.0, 0.8, 100, 0, 4, 50), 0.8 * (1 - 0.125), 1e-12);  // half way: s_f (1 - 1/8)
}

TEST(ClassifierPruneSchedule, IterativeRoundsAndOneShot) {
    nn::train::PruneRecipe p;
    p.schedule = "iterative";
    p.sparsity = 0.9;
    p.start_epoch = 1;
    p.end_epoch = 5;
    p.rounds = 3;  // epochs 1, 3, 5, each keeping 0.1^(1/3) of what was left
    const int64_t spe = 10;
    EXPECT_NEAR(target_sparsity(p, 0, spe), 1 - std::pow(0.1, 1.0 / 3), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 19, spe), 1 - std::pow(0.1, 1.0 / 3), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 20, spe), 1 - std::pow(0.1, 2.0 / 3), 1e-12);
    EXPECT_NEAR(target_sparsity(p, 40, spe), 0.9, 1e-12);
    p.schedule = "oneshot";
    p.start_epoch = 2;
    EXPECT_EQ(target_sparsity(p, 9, spe), 0.0);
    EXPECT_EQ(target_sparsity(p, 10, spe), 0.9);
}

TEST(ClassifierPruneHooks, PrunedWeightsStayExactlyZeroThroughMomentumSgd) {
    // Two epochs of momentum SGD with weight decay; pruning at epoch 2's first
    // step, after the momentum buffers have filled.
    nn::train::Recipe r;
    r.source = "test";
    r.batch_size = 8;
    r.epochs = 2;
    r.schedule.name = "constant";
    r.optimizer.lr = 0.1f;
    r.has_prune = true;
    r.prune.sparsity = 0.5;
    r.prune.start_epoch = 2;
    r.output = testing::TempDir() + "/prune-hooks.safetensors";
    std::mt19937 rng(5);
    std::normal_distribution<float> nd;
    std::vector<float> w0(4 * 16);
    for (auto& v : w0) v = nd(rng);
    FlatLinear model(Tensor::from_floats({4, 16}, w0));
    nn::SgdOptions so;
    so.lr = 0.1f;
    so.momentum = 0.9f;
    so.weight_decay = 5e-4f;
    nn::SGD opt(model.parameters(), so);
    ClassifierPruner pruner(r, nullptr);
    const auto hooks = pruner.hooks();
    Tensor x = Tensor::empty({8, 1, 4, 4});
    std::vector<int64_t> y(8);
    Mask mask_after_prune;
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
        nn::train::EpochLoop loop;
        loop.recipe = &r;
        loop.model = &model;
        loop.optimizer = &opt;
        loop.epoch = epoch;
        loop.steps_per_epoch = 10;
        loop.next_batch = [&](int64_t step) {
            for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = nd(rng);
            for (auto& t : y) t = static_cast<int64_t>(rng() % 4);
            return step < 10;
        };
        loop.forward = [&] { return nn::train::StepLoss{nn::cross_entropy(model.forward(nn::Var(x)), y), 8, 0}; };
        nn::train::TrainHooks h = hooks;
        h.on_step_end = [&](nn::train::StepContext& c) {
            hooks.on_step_end(c);
            if (c.epoch == 2 && c.step == 1) mask_after_prune = masks_from_zeros(prunable_weights(model))[0];
        };
        nn::train::run_epoch(loop, h);
    }
    ASSERT_EQ(zeros(mask_after_prune), 32);
    const Mask end = masks_from_zeros(prunable_weights(model))[0];
    EXPECT_EQ(end, mask_after_prune);  // the same 32 weights, still exactly zero
    const float* w = model.weight.data();
    for (size_t i = 0; i < end.size(); ++i)
        if (!end[i]) {
            EXPECT_EQ(std::signbit(w[i]), false) << "+0.0f expected at " << i;
        }
    // Their momentum is zero too, so dropping the mask would not revive them.
    const auto slots = opt.state_slots();
    ASSERT_FALSE(slots.empty());
    const float* m = (*slots[0].second)[0].data<float>();
    for (size_t i = 0; i < end.size(); ++i)
        if (!end[i]) {
            EXPECT_EQ(m[i], 0.0f) << i;
        }
    const std::string csv = pruner.sparsity_csv();
    EXPECT_NE(csv.find("2,fc.weight,64,32,0.500000"), std::string::npos) << csv;
    EXPECT_NE(csv.find("1,total,64,0,0.000000"), std::string::npos) << csv;
}
