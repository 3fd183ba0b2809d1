// nas/strategy and nas/proxies' rank correlations, on synthetic fitness
// functions (no training): regularized evolution against random search.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "nas/cost.h"
#include "nas/proxies.h"
#include "nas/sampler.h"
#include "nas/strategy.h"

using namespace tern::nas;

namespace {

// Fitness: how many choices agree with a hidden target (the optimum scores all of them).
struct MatchTarget {
    Arch target;
    int choices() const {
        int n = 1;
        for (const auto& s : target.stages) n += 1 + 2 * static_cast<int>(s.blocks.size());
        return n;
    }
    double operator()(const Arch& a) const {
        double f = a.width == target.width;
        for (size_t i = 0; i < a.stages.size(); ++i) {
            const auto& x = a.stages[i].blocks;
            const auto& y = target.stages[i].blocks;
            f += x.size() == y.size();
            for (size_t k = 0; k < std::min(x.size(), y.size()); ++k)
                f += (x[k].kernel == y[k].kernel) + (x[k].expansion == y[k].expansion);
        }
        return f;
    }
};

// Evaluations until the optimum was first reached (max_evals + 1 when never).
int64_t evals_to_optimum(const std::vector<Evaluated>& h, double optimum) {
    for (size_t i = 0; i < h.size(); ++i)
        if (h[i].fitness >= optimum) return static_cast<int64_t>(i) + 1;
    return static_cast<int64_t>(h.size()) + 1;
}

}  // namespace

TEST(NasStrategy, EvolutionFindsTheOptimumFasterThanRandom) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(123);
    const MatchTarget fit{sample_arch(s, rng)};
    const double optimum = fit.choices();
    StrategyOptions o;
    o.max_evals = 3000;
    o.seed = 1;
    o.population = 30;
    o.tournament = 10;
    const auto evo = regularized_evolution(s, o, {}, fit);
    const auto rnd = random_search(s, o, {}, fit);
    EXPECT_EQ(best_of(evo).fitness, optimum);
    EXPECT_EQ(best_of(evo).arch, fit.target);
    const int64_t evo_n = evals_to_optimum(evo, optimum), rnd_n = evals_to_optimum(rnd, optimum);
    EXPECT_LT(evo_n, rnd_n);
    std::printf("optimum (%g choices) reached after %lld evolution evaluations; random's best of %lld: %g\n", optimum,
                (long long)evo_n, (long long)o.max_evals, best_of(rnd).fitness);
    EXPECT_LT(best_of(rnd).fitness, optimum);  // 3000 uniform draws of ~1e16 architectures miss it
}

TEST(NasStrategy, SameSeedSameSearch) {
    const Space s = mobilenet_space();
    tern::data::Rng rng(5);
    const MatchTarget fit{sample_arch(s, rng)};
    StrategyOptions o;
    o.max_evals = 60;
    o.seed = 42;
    const auto a = regularized_evolution(s, o, {}, fit), b = regularized_evolution(s, o, {}, fit);
    ASSERT_EQ(a.size(), 60u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].arch, b[i].arch);
    o.seed = 43;
    const auto c = regularized_evolution(s, o, {}, fit);
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) differs |= !(a[i].arch == c[i].arch);
    EXPECT_TRUE(differs);
}

TEST(NasStrategy, ConstraintsAreHonouredAndAnUnmeetableBudgetIsAnError) {
    const Space s = mobilenet_space();
    const int64_t limit = arch_cost(smallest_arch(s)).params * 2;
    const Feasible small = [&](const Arch& a) { return arch_cost(a).params <= limit; };
    StrategyOptions o;
    o.max_evals = 40;
    o.population = 8;
    const auto h = regularized_evolution(s, o, small, [](const Arch& a) { return static_cast<double>(arch_cost(a).macs); });
    for (const auto& e : h) EXPECT_LE(arch_cost(e.arch).params, limit);
    o.max_tries = 50;
    EXPECT_THROW(random_search(s, o, [](const Arch&) { return false; }, [](const Arch&) { return 0.0; }), tern::InputError);
    EXPECT_THROW(regularized_evolution(s, o, [](const Arch&) { return false; }, [](const Arch&) { return 0.0; }),
                 tern::InputError);
}

TEST(NasRank, SpearmanAndKendallOnKnownVectors) {
    const std::vector<double> x = {1, 2, 3, 4, 5};
    EXPECT_DOUBLE_EQ(spearman(x, {2, 4, 6, 8, 10}), 1.0);
    EXPECT_DOUBLE_EQ(spearman(x, {5, 4, 3, 2, 1}), -1.0);
    EXPECT_DOUBLE_EQ(kendall_tau(x, {5, 4, 3, 2, 1}), -1.0);
    // Pearson of the average ranks [1..5] and [1,2,3.5,5,3.5], computed in Python: 0.8207826816681233
    EXPECT_NEAR(spearman(x, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12);
    // tau-b: 8 concordant, 1 discordant, 1 tie in y: 7 / sqrt(9 * 10) = 0.7378647873726218
    EXPECT_NEAR(kendall_tau(x, {5, 6, 7, 8, 7}), 0.7378647873726218, 1e-12);
    // Spearman of [1,2,3,4] and [1,3,2,4]: 1 - 6*2/(4*15) = 0.8; Kendall: (5-1)/6.
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3, 4}, {1, 3, 2, 4}), 0.8);
    EXPECT_DOUBLE_EQ(kendall_tau({1, 2, 3, 4}, {1, 3, 2, 4}), 4.0 / 6.0);
    EXPECT_TRUE(std::isnan(spearman({1, 2, 3}, {7, 7, 7})));
    EXPECT_TRUE(std::isnan(kendall_tau({1}, {1})));
    EXPECT_THROW(spearman({1, 2}, {1}), tern::InputError);
}

TEST(NasRank, LogDetOfKnownMatrices) {
    EXPECT_NEAR(log_abs_det({2, 0, 0, 3}, 2), std::log(6.0), 1e-12);
    EXPECT_NEAR(log_abs_det({4, 2, 2, 3}, 2), std::log(8.0), 1e-12);
    EXPECT_EQ(log_abs_det({1, 1, 1, 1}, 2), -INFINITY);
}
