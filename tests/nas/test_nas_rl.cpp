// nas/rl: the REINFORCE controller's gradient against finite differences, one
// update's exact effect on the rewarded choice, MnasNet's reward, and whole
// searches on synthetic rewards (no training).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "nas/cost.h"
#include "nas/rl.h"

using namespace tern::nas;

namespace {

// advantage * log pi(c) + w * (sum of the used decisions' entropies): what policy_gradient differentiates.
double rl_objective(const RlPolicy& p, const RlChoices& c, double advantage, double w) {
    double h = 0;
    for (size_t d = 0; d < p.decisions.size(); ++d)
        if (c[d] >= 0) h += decision_entropy(p, d);
    return advantage * log_prob(p, c) + w * h;
}

// The stage-0 depth decision's index in the policy.
size_t rl_depth_decision(const RlPolicy& p) {
    for (size_t d = 0; d < p.decisions.size(); ++d)
        if (p.decisions[d].kind == RlDecision::depth && p.decisions[d].stage == 0) return d;
    return 0;
}

}  // namespace

TEST(NasRl, DecisionsFollowTheSpaceAndChoicesRoundTrip) {
    const Space s = mobilenet_space();
    const RlPolicy p = make_policy(s);
    // width + 4 stages x (depth + 4 block positions x (kernel, expansion))
    ASSERT_EQ(p.decisions.size(), 1u + 4 * (1 + 4 * 2));
    EXPECT_NEAR(policy_entropy(p), std::log(3.0) * 37, 1e-12);  // every decision has 3 choices, uniform
    tern::data::Rng rng(7);
    for (int i = 0; i < 50; ++i) {
        const RlChoices c = sample_choices(p, s, rng);
        const Arch a = arch_of(p, c, s);
        EXPECT_EQ(arch_outside_space(a, s), "");
        EXPECT_EQ(choices_of(p, a, s), c);
        int used = 0;
        for (int64_t k : c) used += k >= 0;
        int blocks = 0;
        for (const auto& st : a.stages) blocks += static_cast<int>(st.blocks.size());
        EXPECT_EQ(used, 1 + 4 + 2 * blocks);
        EXPECT_NEAR(log_prob(p, c), used * std::log(1.0 / 3), 1e-12);
    }
}

TEST(NasRl, GradientMatchesFiniteDifferences) {
    const Space s = mobilenet_space();
    RlPolicy p = make_policy(s);
    tern::data::Rng rng(3);
    for (auto& row : p.logits)
        for (double& z : row) z = (static_cast<double>(rng.below(2001)) - 1000) / 500;  // in [-2, 2]
    const RlChoices c = sample_choices(p, s, rng);
    const double advantage = 0.37, w = 0.2;
    const auto g = policy_gradient(p, c, advantage, w);
    const double h = 1e-6;
    double worst = 0;
    for (size_t d = 0; d < p.logits.size(); ++d)
        for (size_t j = 0; j < p.logits[d].size(); ++j) {
            RlPolicy up = p, down = p;
            up.logits[d][j] += h;
            down.logits[d][j] -= h;
            const double fd = (rl_objective(up, c, advantage, w) - rl_objective(down, c, advantage, w)) / (2 * h);
            worst = std::max(worst, std::abs(fd - g[d][j]));
            if (c[d] < 0) {
                EXPECT_EQ(g[d][j], 0.0) << "an unused decision has no gradient";
            }
        }
    EXPECT_LT(worst, 1e-8);
}

TEST(NasRl, OneUpdateRaisesTheRewardedChoiceByTheExactAmount) {
    const Space s = mobilenet_space();
    const RlPolicy p0 = make_policy(s);
    tern::data::Rng rng(11);
    const RlChoices c = sample_choices(p0, s, rng);
    const size_t d = rl_depth_decision(p0);
    const auto k = static_cast<size_t>(c[d]);
    const double lr = 0.3, n = 3;
    // SGD ascent z += lr * g from uniform logits, advantage 1, no entropy bonus:
    // g_k = 1 - 1/n, g_j = -1/n, so p_k = e^{lr (1 - 1/n)} / (e^{lr (1 - 1/n)} + (n - 1) e^{-lr/n}).
    RlPolicy sgd = p0;
    const auto g = policy_gradient(sgd, c, 1.0, 0.0);
    for (size_t j = 0; j < sgd.logits[d].size(); ++j) sgd.logits[d][j] += lr * g[d][j];
    const double want_sgd = std::exp(lr * (1 - 1 / n)) / (std::exp(lr * (1 - 1 / n)) + (n - 1) * std::exp(-lr / n));
    EXPECT_NEAR(decision_probs(sgd, d)[k], want_sgd, 1e-14);
    // Adam's first step moves every logit with a gradient by lr * sign(g) (up to eps):
    // p_k = e^{lr} / (e^{lr} + (n - 1) e^{-lr}).
    RlPolicy adam_p = p0;
    RlAdam adam;
    adam.lr = lr;
    adam.step(adam_p, g);
    const double want_adam = std::exp(lr) / (std::exp(lr) + (n - 1) * std::exp(-lr));
    EXPECT_NEAR(decision_probs(adam_p, d)[k], want_adam, 1e-7);
    EXPECT_GT(decision_probs(adam_p, d)[k], 1 / n);
    // The same step with a negative advantage lowers it by the mirrored amount.
    RlPolicy neg = p0;
    RlAdam adam2;
    adam2.lr = lr;
    adam2.step(neg, policy_gradient(neg, c, -1.0, 0.0));
    EXPECT_NEAR(decision_probs(neg, d)[k], std::exp(-lr) / (std::exp(-lr) + (n - 1) * std::exp(lr)), 1e-7);
    // Unused block positions did not move.
    for (size_t e = 0; e < c.size(); ++e)
        if (c[e] < 0) {
            EXPECT_EQ(adam_p.logits[e], p0.logits[e]);
        }
}

TEST(NasRl, MnasRewardSoftAndHard) {
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {}), 0.8);
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {0.5}), 0.8 * std::pow(0.5, -0.07));
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {2.0}), 0.8 * std::pow(2.0, -0.07));
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {0.5, 1.25}), 0.8 * std::pow(0.5, -0.07) * std::pow(1.25, -0.07));
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {0.5}, 0, -1), 0.8);
    EXPECT_DOUBLE_EQ(mnas_reward(0.8, {1.25}, 0, -1), 0.8 / 1.25);
}

TEST(NasRl, SyntheticRewardConvergesToTheTargetDepth) {
    // reward = -|depth of stage 0 - 4|, no training: the controller must learn depth 4 (a third of uniform draws).
    const Space s = mobilenet_space();
    RlOptions o;
    o.max_evals = 150;
    o.seed = 5;
    o.lr = 0.1;
    const Evaluate reward = [](const Arch& a) { return -std::abs(static_cast<double>(a.stages[0].blocks.size()) - 4); };
    const RlResult r = reinforce_search(s, o, {}, reward);
    ASSERT_EQ(r.steps.size(), 150u);
    const size_t d = rl_depth_decision(r.policy);
    const double p4 = decision_probs(r.policy, d)[2];  // depths {2, 3, 4}
    EXPECT_GT(p4, 0.95);
    int hits = 0;
    for (size_t i = r.steps.size() - 30; i < r.steps.size(); ++i) hits += r.steps[i].arch.stages[0].blocks.size() == 4;
    EXPECT_GE(hits, 28);
    int first_hits = 0;
    for (size_t i = 0; i < 30; ++i) first_hits += r.steps[i].arch.stages[0].blocks.size() == 4;
    std::printf("stage-0 depth 4: %d of the first 30 samples, %d of the last 30; p = %.4f\n", first_hits, hits, p4);
    // The same seed gives the same search; another seed another.
    const RlResult again = reinforce_search(s, o, {}, reward);
    for (size_t i = 0; i < r.steps.size(); ++i) {
        EXPECT_EQ(again.steps[i].arch, r.steps[i].arch);
        EXPECT_EQ(again.steps[i].reward, r.steps[i].reward);
    }
    o.seed = 6;
    const RlResult other = reinforce_search(s, o, {}, reward);
    bool differs = false;
    for (size_t i = 0; i < r.steps.size(); ++i) differs |= !(other.steps[i].arch == r.steps[i].arch);
    EXPECT_TRUE(differs);
}

TEST(NasRl, OverBudgetSamplesAreNotEvaluatedAndRepeatsAreReused) {
    // A tiny space (8 architectures) so repeats happen, and a budget the width-1.0 half misses.
    Space s;
    s.stem = 8;
    s.head = 16;
    s.stages = {{8, 2, {1, 2}}};
    s.kernels = {3, 5};
    s.expansions = {1};
    s.widths = {0.5, 1.0};
    Arch widest_small = smallest_arch(s);
    widest_small.stages[0].blocks = {{5, 1}, {5, 1}};
    const int64_t limit = arch_cost(widest_small).params;  // the largest at width 0.5
    Arch narrowest_big = smallest_arch(s);
    narrowest_big.width = 1.0;
    ASSERT_GT(arch_cost(narrowest_big).params, limit);
    const Feasible feasible = [&](const Arch& a) { return arch_cost(a).params <= limit; };
    std::set<std::string> evaluated;
    int calls = 0;
    const Evaluate evaluate = [&](const Arch& a) {
        ++calls;
        EXPECT_TRUE(feasible(a)) << "an over-budget sample was evaluated";
        EXPECT_TRUE(evaluated.insert(arch_to_string(a)).second) << "a repeat was evaluated again";
        return 0.5;
    };
    RlOptions o;
    o.max_evals = 12;
    o.seed = 2;
    o.cost_ratios = [&](const Arch& a) { return std::vector<double>{static_cast<double>(arch_cost(a).params) / limit}; };
    const RlResult r = reinforce_search(s, o, feasible, evaluate);
    EXPECT_EQ(r.history.size(), 12u);
    int feasible_steps = 0, reused = 0;
    for (const RlStep& st : r.steps) {
        if (!st.feasible) {
            EXPECT_EQ(st.reward, 0.0);
        }
        else EXPECT_DOUBLE_EQ(st.reward, mnas_reward(0.5, {static_cast<double>(arch_cost(st.arch).params) / limit}));
        feasible_steps += st.feasible;
        reused += st.reused;
    }
    EXPECT_EQ(feasible_steps, 12);
    EXPECT_EQ(calls + reused, 12);
    EXPECT_GT(reused, 0);
    EXPECT_GT(r.steps.size(), 12u) << "some samples should have missed the budget";
    o.max_steps = 30;
    EXPECT_THROW(reinforce_search(s, o, [](const Arch&) { return false; }, evaluate), tern::InputError);
}
