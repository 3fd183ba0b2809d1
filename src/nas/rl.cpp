#include "nas/rl.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "core/error.h"
#include "nas/proxyless_latency.h"

namespace tern::nas {
namespace {

// Uniform in [0, 1) from the top 53 bits.
double uniform01(data::Rng& rng) { return static_cast<double>(rng.next() >> 11) * 0x1.0p-53; }

template <class T>
int64_t index_of(const std::vector<T>& v, const T& x) {
    const auto it = std::find(v.begin(), v.end(), x);
    return it == v.end() ? -1 : static_cast<int64_t>(it - v.begin());
}

}  // namespace

RlPolicy make_policy(const Space& s) {
    RlPolicy p;
    auto add = [&](RlDecision::Kind k, int64_t stage, int64_t block, size_t n) {
        p.decisions.push_back({k, stage, block, static_cast<int64_t>(n)});
        p.logits.emplace_back(n, 0.0);
    };
    add(RlDecision::width, -1, -1, s.widths.size());
    for (size_t i = 0; i < s.stages.size(); ++i) {
        const auto& depths = s.stages[i].depths;
        add(RlDecision::depth, static_cast<int64_t>(i), -1, depths.size());
        const int64_t deepest = *std::max_element(depths.begin(), depths.end());
        for (int64_t b = 0; b < deepest; ++b) {
            add(RlDecision::kernel, static_cast<int64_t>(i), b, s.kernels.size());
            add(RlDecision::expansion, static_cast<int64_t>(i), b, s.expansions.size());
        }
    }
    return p;
}

std::vector<double> decision_probs(const RlPolicy& p, size_t d) { return softmax(p.logits[d]); }

RlChoices sample_choices(const RlPolicy& p, const Space& s, data::Rng& rng) {
    RlChoices c(p.decisions.size(), -1);
    int64_t depth = 0;  // of the stage being drawn; its block decisions follow its depth decision
    for (size_t d = 0; d < p.decisions.size(); ++d) {
        const RlDecision& dec = p.decisions[d];
        if ((dec.kind == RlDecision::kernel || dec.kind == RlDecision::expansion) && dec.block >= depth) continue;
        const std::vector<double> q = decision_probs(p, d);
        const double u = uniform01(rng);
        double acc = 0;
        int64_t k = static_cast<int64_t>(q.size()) - 1;  // where rounding leaves u above the last sum
        for (size_t j = 0; j < q.size(); ++j)
            if (u < (acc += q[j])) {
                k = static_cast<int64_t>(j);
                break;
            }
        c[d] = k;
        if (dec.kind == RlDecision::depth) depth = s.stages[static_cast<size_t>(dec.stage)].depths[static_cast<size_t>(k)];
    }
    return c;
}

Arch arch_of(const RlPolicy& p, const RlChoices& c, const Space& s) {
    Arch a;
    a.stem = s.stem;
    a.head = s.head;
    for (const StageSpace& st : s.stages) a.stages.push_back({st.channels, st.stride, {}});
    for (size_t d = 0; d < p.decisions.size(); ++d) {
        const RlDecision& dec = p.decisions[d];
        if (c[d] < 0) continue;
        const auto k = static_cast<size_t>(c[d]);
        switch (dec.kind) {
            case RlDecision::width: a.width = s.widths[k]; break;
            case RlDecision::depth: a.stages[dec.stage].blocks.resize(static_cast<size_t>(s.stages[dec.stage].depths[k])); break;
            case RlDecision::kernel: a.stages[dec.stage].blocks[dec.block].kernel = s.kernels[k]; break;
            case RlDecision::expansion: a.stages[dec.stage].blocks[dec.block].expansion = s.expansions[k]; break;
        }
    }
    return a;
}

RlChoices choices_of(const RlPolicy& p, const Arch& a, const Space& s) {
    if (const std::string why = arch_outside_space(a, s); !why.empty()) throw InputError("rl", why);
    RlChoices c(p.decisions.size(), -1);
    for (size_t d = 0; d < p.decisions.size(); ++d) {
        const RlDecision& dec = p.decisions[d];
        if (dec.kind == RlDecision::width) {
            c[d] = index_of(s.widths, a.width);
            continue;
        }
        const auto& blocks = a.stages[dec.stage].blocks;
        if (dec.kind == RlDecision::depth) c[d] = index_of(s.stages[dec.stage].depths, static_cast<int64_t>(blocks.size()));
        else if (dec.block < static_cast<int64_t>(blocks.size()))
            c[d] = dec.kind == RlDecision::kernel ? index_of(s.kernels, blocks[dec.block].kernel)
                                                  : index_of(s.expansions, blocks[dec.block].expansion);
    }
    return c;
}

double log_prob(const RlPolicy& p, const RlChoices& c) {
    double lp = 0;
    for (size_t d = 0; d < p.decisions.size(); ++d)
        if (c[d] >= 0) lp += std::log(decision_probs(p, d)[static_cast<size_t>(c[d])]);
    return lp;
}

double decision_entropy(const RlPolicy& p, size_t d) {
    double h = 0;
    for (double q : decision_probs(p, d))
        if (q > 0) h -= q * std::log(q);
    return h;
}

double policy_entropy(const RlPolicy& p) {
    double h = 0;
    for (size_t d = 0; d < p.decisions.size(); ++d) h += decision_entropy(p, d);
    return h;
}

std::vector<std::vector<double>> policy_gradient(const RlPolicy& p, const RlChoices& c, double advantage,
                                                 double entropy_weight) {
    std::vector<std::vector<double>> g;
    for (size_t d = 0; d < p.decisions.size(); ++d) {
        g.emplace_back(p.logits[d].size(), 0.0);
        if (c[d] < 0) continue;
        const std::vector<double> q = decision_probs(p, d);
        const double h = decision_entropy(p, d);
        for (size_t j = 0; j < q.size(); ++j) {
            // d log softmax_k / dz_j = [j == k] - q_j;  dH / dz_j = -q_j (log q_j + H).
            g[d][j] = advantage * ((static_cast<int64_t>(j) == c[d] ? 1.0 : 0.0) - q[j]);
            if (q[j] > 0) g[d][j] -= entropy_weight * q[j] * (std::log(q[j]) + h);
        }
    }
    return g;
}

void RlAdam::step(RlPolicy& p, const std::vector<std::vector<double>>& grad) {
    if (m.empty()) {
        for (const auto& row : p.logits) {
            m.emplace_back(row.size(), 0.0);
            v.emplace_back(row.size(), 0.0);
        }
    }
    ++t;
    const double c1 = 1 - std::pow(beta1, static_cast<double>(t)), c2 = 1 - std::pow(beta2, static_cast<double>(t));
    for (size_t d = 0; d < p.logits.size(); ++d)
        for (size_t j = 0; j < p.logits[d].size(); ++j) {
            const double gj = grad[d][j];
            m[d][j] = beta1 * m[d][j] + (1 - beta1) * gj;
            v[d][j] = beta2 * v[d][j] + (1 - beta2) * gj * gj;
            p.logits[d][j] += lr * (m[d][j] / c1) / (std::sqrt(v[d][j] / c2) + eps);
        }
}

double mnas_reward(double accuracy, const std::vector<double>& cost_ratios, double alpha, double beta) {
    double r = accuracy;
    for (double x : cost_ratios) r *= std::pow(x, x <= 1 ? alpha : beta);
    return r;
}

RlResult reinforce_search(const Space& s, const RlOptions& o, const Feasible& feasible, const Evaluate& evaluate) {
    data::Rng rng(o.seed);
    RlResult res;
    res.policy = make_policy(s);
    RlAdam adam;
    adam.lr = o.lr;
    std::map<std::string, double> seen;  // fitness by arch_to_string
    double baseline = 0;
    int64_t evals = 0;
    for (int64_t step = 1; step <= o.max_steps && evals < o.max_evals; ++step) {
        RlStep st;
        st.step = step;
        st.entropy = policy_entropy(res.policy);
        const RlChoices c = sample_choices(res.policy, s, rng);
        st.arch = arch_of(res.policy, c, s);
        st.log_prob = log_prob(res.policy, c);
        st.feasible = !feasible || feasible(st.arch);
        if (st.feasible) {
            ++evals;
            const std::string key = arch_to_string(st.arch);
            auto it = seen.find(key);
            st.reused = it != seen.end();
            st.fitness = st.reused ? it->second : (seen[key] = evaluate(st.arch));
            st.reward = mnas_reward(st.fitness, o.cost_ratios ? o.cost_ratios(st.arch) : std::vector<double>{}, o.alpha, o.beta);
            res.history.push_back({st.arch, st.fitness});
        }
        if (step == 1) baseline = st.reward;  // the first advantage is 0 rather than the whole reward
        st.baseline = baseline;
        st.advantage = st.reward - baseline;
        adam.step(res.policy, policy_gradient(res.policy, c, st.advantage, o.entropy_weight));
        baseline = o.baseline_decay * baseline + (1 - o.baseline_decay) * st.reward;
        res.steps.push_back(st);
        if (o.on_step) o.on_step(res.steps.back());
    }
    if (evals == 0)
        throw InputError("budget", format("no architecture the controller sampled met the budget in %lld samples "
                                          "(loosen --latency-ms / --params / --macs)",
                                          (long long)o.max_steps));
    return res;
}

}  // namespace tern::nas
