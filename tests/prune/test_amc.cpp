// AMC (prune/amc, prune/ddpg): the environment's state features are in
// [0, 1] and track the choices; every episode's architecture meets the budget
// whatever the actions (the clip), an impossible budget is refused; the DDPG
// agent finds a 1-D bandit's peak; a search is the same for the same seed;
// batch-norm recalibration (the optional reward) recomputes the statistics.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "nn/models/pruned.h"
#include "nn/models/zoo.h"
#include "nn/modules/norm.h"
#include "nn/train/batch_norm_recalibration.h"
#include "prune/amc.h"
#include "prune/ddpg.h"

using namespace tern;
using namespace tern::prune;

namespace {

AmcCost amc_test_macs() {
    return [](const nn::models::PrunedArch& a) { return double(nn::models::pruned_macs(a)); };
}

data::ImageDataset amc_test_dataset(int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n * 28 * 28));
    for (auto& x : v) x = d(rng);
    data::ImageDataset ds;
    ds.images = Tensor::from_floats({n, 1, 28, 28}, v);
    for (int64_t i = 0; i < n; ++i) ds.labels.push_back(static_cast<int32_t>(i % 10));
    ds.num_classes = 10;
    return ds;
}

}  // namespace

TEST(Amc, LayersDescribeEachPrunableWidth) {
    const auto l5 = amc_layers(nn::models::pruned_arch_of("lenet5"));
    ASSERT_EQ(l5.size(), 4u);
    EXPECT_EQ(l5[1].name, "conv2");
    EXPECT_EQ(l5[1].in, 6);
    EXPECT_EQ(l5[1].out, 16);
    EXPECT_EQ(l5[1].kernel, 5);
    EXPECT_EQ(l5[1].size, 14);
    // conv2's own MACs (6*16*25*100) and fc1's that read its channels (16*25*120).
    EXPECT_EQ(l5[1].macs, 6 * 16 * 25 * 100 + 16 * 25 * 120);
    const nn::models::PrunedArch m = nn::models::pruned_arch_of("mobilenetv2_tiny");
    const auto lm = amc_layers(m);
    ASSERT_EQ(lm.size(), m.widths.size());
    EXPECT_EQ(lm.back().name, "head");
    EXPECT_EQ(lm.back().size, 7);
    int64_t strided = 0;
    for (const auto& l : lm) {
        EXPECT_GT(l.macs, 0) << l.name;
        strided += l.stride == 2;
    }
    EXPECT_EQ(strided, 2);  // the two stage starts that halve the map
}

TEST(Amc, StateFeaturesAreNormalizedAndFollowTheChoices) {
    const nn::models::PrunedArch start = nn::models::pruned_arch_of("lenet5");
    AmcEnvironment env(start, amc_test_macs(), 0.5 * double(nn::models::pruned_macs(start)), "--flops");
    std::vector<std::vector<float>> states;
    while (!env.done()) {
        states.push_back(env.state());
        env.step(0.5);
    }
    ASSERT_EQ(states.size(), 4u);
    for (const auto& s : states) {
        ASSERT_EQ(int64_t(s.size()), AmcEnvironment::kStateSize);
        for (float f : s) {
            EXPECT_GE(f, 0.0f);
            EXPECT_LE(f, 1.0f);
        }
    }
    EXPECT_EQ(states[0][0], 0.0f);  // layer index
    EXPECT_EQ(states[3][0], 1.0f);
    EXPECT_EQ(states[0][7], 0.0f);  // nothing reduced yet
    EXPECT_EQ(states[0][9], 1.0f);  // previous action: the full width
    EXPECT_GT(states[1][7], 0.0f);  // conv1 halved
    EXPECT_NEAR(states[1][9], 3.0 / 6.0, 1e-6);
    EXPECT_GT(states[0][8], states[2][8]);  // MACs after the layer shrink along the network
    EXPECT_EQ(states[3][8], 0.0f);
    EXPECT_THROW(env.state(), Error);
}

TEST(Amc, EveryEpisodeMeetsTheBudgetWhateverTheActions) {
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (const std::string base : {"lenet5", "mobilenetv2_tiny"})
        for (double fraction : {0.2, 0.5, 0.8})
            for (int64_t multiple : {1, 8}) {
                const nn::models::PrunedArch start = nn::models::pruned_arch_of(base);
                const double budget = fraction * double(nn::models::pruned_macs(start));
                AmcEnvironment env(start, amc_test_macs(), budget, "--flops", multiple);
                for (int episode = 0; episode < 12; ++episode) {
                    env.reset();
                    // Episode 0 asks for everything: the clips alone bring it under the budget.
                    while (!env.done()) env.step(episode == 0 ? 1.0 : u(rng));
                    const nn::models::PrunedArch& a = env.arch();
                    EXPECT_LE(double(nn::models::pruned_macs(a)), budget) << base << " " << fraction;
                    for (size_t g = 0; g < a.widths.size(); ++g) {
                        EXPECT_GE(a.widths[g], 1);
                        if (multiple > 1 && start.widths[g] > multiple && a.widths[g] != start.widths[g]) {
                            EXPECT_EQ(a.widths[g] % multiple, 0) << base << " layer " << g;
                        }
                    }
                    if (episode == 0) {
                        // Asking for everything ends at the budget: one more step of
                        // the last layer would pass it.
                        nn::models::PrunedArch wider = a;
                        wider.widths.back() += multiple > 1 && start.widths.back() > multiple ? multiple : 1;
                        if (wider.widths.back() <= start.widths.back()) {
                            EXPECT_GT(double(nn::models::pruned_macs(wider)), budget) << base << " " << fraction;
                        }
                    }
                }
            }
}

TEST(Amc, AnImpossibleBudgetIsRefusedNamingTheFlag) {
    const nn::models::PrunedArch start = nn::models::pruned_arch_of("lenet300");
    try {
        AmcEnvironment env(start, amc_test_macs(), 1e-4 * double(nn::models::pruned_macs(start)), "--flops");
        FAIL() << "accepted a budget below one neuron per layer";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("--flops"), std::string::npos) << e.what();
        EXPECT_NE(e.detail().find("below what the narrowest model"), std::string::npos) << e.detail();
    }
}

TEST(Ddpg, LearnsTheBanditPeak) {
    // One-step episodes, reward peaked at a = 0.7: the actor's answer moves
    // from its start (~0.5) to the peak.
    DdpgOptions o;
    o.hidden = 32;
    o.batch = 32;
    o.actor_lr = 3e-3f;
    o.critic_lr = 3e-3f;
    o.seed = 5;
    Ddpg agent(1, o);
    const std::vector<float> s{0.5f};
    const double start = agent.act(s);
    EXPECT_NEAR(start, 0.5, 0.05);
    for (int ep = 0; ep < 1200; ++ep) {
        const double a = ep < 50 ? agent.random_action() : agent.explore(s);
        agent.observe({s, s, float(a), float(-(a - 0.7) * (a - 0.7)), true});
        if (ep >= 50) {
            agent.update();
            agent.end_episode();
        }
    }
    EXPECT_NEAR(agent.act(s), 0.7, 0.05);
    EXPECT_LT(agent.sigma(), 1e-3);
}

TEST(Amc, SearchIsTheSameForTheSameSeed) {
    auto model = nn::models::make_model("lenet5", 3);
    model->eval();
    const auto val = amc_test_dataset(30, 2);
    AmcOptions o;
    o.flops = 0.4;
    o.episodes = 6;
    o.warmup = 2;
    o.agent.batch = 8;
    o.latency = [](const nn::models::PrunedArch& a) { return double(nn::models::pruned_macs(a)) / 1e6; };
    o.seed = 9;
    const AmcResult a = amc_search(*model, "lenet5", val, o), b = amc_search(*model, "lenet5", val, o);
    ASSERT_EQ(a.history.size(), 6u);
    for (size_t i = 0; i < a.history.size(); ++i) {
        EXPECT_EQ(a.history[i].widths, b.history[i].widths) << i;
        EXPECT_EQ(a.history[i].val_accuracy, b.history[i].val_accuracy) << i;
        EXPECT_LE(a.history[i].cost, 0.4 * double(a.macs_before)) << i;
    }
    EXPECT_EQ(a.model_name, b.model_name);
    EXPECT_EQ(a.model_name, nn::models::pruned_model_name({"lenet5", a.history[size_t(a.best_episode)].widths}));
    EXPECT_LE(a.macs_after, 0.4 * double(a.macs_before));
    for (const auto& e : a.history) EXPECT_LE(e.reward, a.best_reward);
    o.seed = 10;
    const AmcResult c = amc_search(*model, "lenet5", val, o);
    bool differs = false;
    for (size_t i = 0; i < c.history.size(); ++i) differs |= c.history[i].widths != a.history[i].widths;
    EXPECT_TRUE(differs);
}

TEST(BatchNormRecalibration, RunningStatisticsBecomeTheDataMeans) {
    nn::BatchNorm2d bn(1);
    bn.running_mean.data<float>()[0] = 5.0f;  // stale statistics of another network
    bn.running_var.data<float>()[0] = 9.0f;
    const auto ds = amc_test_dataset(20, 4);
    nn::train::recalibrate_batch_norms(bn, ds, 20, 10);
    double mean = 0;
    const float* x = ds.images.data<float>();
    for (int64_t i = 0; i < ds.images.numel(); ++i) mean += x[i];
    mean /= double(ds.images.numel());
    EXPECT_NEAR(bn.running_mean.data<float>()[0], mean, 1e-4);
    EXPECT_NEAR(bn.running_var.data<float>()[0], 1.0, 0.05);  // standard normal pixels
    EXPECT_FLOAT_EQ(bn.momentum, 0.1f);                      // restored
    EXPECT_FALSE(bn.is_training());
}
