#pragma once
// Reinforcement-learning search (Zoph & Le 2017's REINFORCE, with MnasNet's
// reward, Tan et al. 2019) over the same decisions the sampler makes: the
// width, each stage's depth, and each block position's kernel and expansion.
// The policy is a table of logits, one independent categorical per decision
// (not MnasNet's LSTM controller): its log-softmax gradient is exact and
// written out by hand, and Adam ascends
//     advantage * log pi(arch) + entropy_weight * sum of the used decisions' entropies,
// advantage = reward - baseline (an exponential moving average of the rewards).
// Deterministic for a seed.
#include <cstdint>
#include <functional>
#include <vector>

#include "nas/arch.h"
#include "nas/strategy.h"
#include "nn/data/rng.h"

namespace tern::nas {

// One categorical choice of the controller, in the sampler's order: the width,
// then per stage its depth and, for every block position up to the stage's
// deepest, a kernel and an expansion. A block position past the sampled depth
// is unused: it is neither in log pi(arch) nor in its gradient.
struct RlDecision {
    enum Kind { width, depth, kernel, expansion } kind = width;
    int64_t stage = -1, block = -1;
    int64_t choices = 0;
};

struct RlPolicy {
    std::vector<RlDecision> decisions;
    std::vector<std::vector<double>> logits;  // (decisions, choices)
};

// A choice index per decision; -1 where the decision is unused.
using RlChoices = std::vector<int64_t>;

// All logits 0: every decision uniform (what sample_arch draws from).
RlPolicy make_policy(const Space& s);
std::vector<double> decision_probs(const RlPolicy& p, size_t d);  // softmax of row d
RlChoices sample_choices(const RlPolicy& p, const Space& s, data::Rng& rng);
Arch arch_of(const RlPolicy& p, const RlChoices& c, const Space& s);
// The choices that make `a` (InputError when `a` is outside the space the policy was made for).
RlChoices choices_of(const RlPolicy& p, const Arch& a, const Space& s);
double log_prob(const RlPolicy& p, const RlChoices& c);  // over the used decisions
double decision_entropy(const RlPolicy& p, size_t d);    // nats
double policy_entropy(const RlPolicy& p);                // sum over every decision, nats

// The gradient (same shape as the logits) of
//     advantage * log pi(c) + entropy_weight * sum over used d of H_d:
// for a used decision with probabilities p and choice k,
//     advantage * (onehot_k - p) - entropy_weight * p * (log p + H_d).
std::vector<std::vector<double>> policy_gradient(const RlPolicy& p, const RlChoices& c, double advantage,
                                                 double entropy_weight);

// Adam on the logits, ascending (Kingma & Ba, bias-corrected).
struct RlAdam {
    double lr = 0.05, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    int64_t t = 0;
    std::vector<std::vector<double>> m, v;
    void step(RlPolicy& p, const std::vector<std::vector<double>>& grad);
};

// MnasNet's reward: accuracy * prod_k ratio_k^w, ratio_k = cost_k / target_k for
// each budget given, w = alpha where ratio_k <= 1 and beta above. Soft
// constraint: alpha = beta = -0.07 (twice the cost for about 5 % less reward);
// MnasNet's hard variant is alpha = 0, beta = -1.
double mnas_reward(double accuracy, const std::vector<double>& cost_ratios, double alpha = -0.07, double beta = -0.07);

struct RlStep {
    int64_t step = 0;  // 1-based
    Arch arch;
    bool feasible = false;  // met the budget, so it was evaluated (or its earlier evaluation reused)
    bool reused = false;    // sampled before: its fitness is the first evaluation's
    double fitness = 0;     // evaluate's value; 0 when not feasible
    double reward = 0, baseline = 0, advantage = 0;  // baseline: before this step's update
    double log_prob = 0;  // of the sample under the policy that drew it
    double entropy = 0;   // policy_entropy before the update
};

struct RlOptions {
    int64_t max_evals = 20;    // feasible samples (evaluated or reused)
    int64_t max_steps = 2000;  // samples at most, over-budget ones included
    uint64_t seed = 1;
    double lr = 0.05;
    double baseline_decay = 0.9;
    double entropy_weight = 0.01;
    double alpha = -0.07, beta = -0.07;
    // cost / target for each budget given (empty: reward = fitness).
    std::function<std::vector<double>(const Arch&)> cost_ratios;
    std::function<void(const RlStep&)> on_step;
};

struct RlResult {
    std::vector<Evaluated> history;  // the feasible samples in order
    std::vector<RlStep> steps;       // every sample
    RlPolicy policy;                 // after the last update
};

// Each step samples an architecture from the policy. One that misses the budget
// (`feasible` false) is not evaluated: reward 0, the hard constraint (MnasNet's
// soft penalty needs an accuracy only training gives, and a budget the winner
// must meet is hard anyway). A feasible one is evaluated (once per distinct
// architecture: the same training gives the same accuracy) and rewarded with
// mnas_reward. Then the baseline and the policy update. Stops after max_evals
// feasible samples or max_steps samples; throws InputError("budget", ...) when
// max_steps samples met the budget none of the times.
RlResult reinforce_search(const Space& s, const RlOptions& o, const Feasible& feasible, const Evaluate& evaluate);

}  // namespace tern::nas
