#pragma once
// Search strategies over a Space, independent of how a candidate is judged:
// `feasible` says whether an architecture meets the budget (cheap: counted or
// estimated cost), `evaluate` gives its fitness (higher is better; in a real
// search the validation accuracy after a short training). Both strategies are
// determined by the seed, so the same seed gives the same search.
#include <cstdint>
#include <functional>
#include <vector>

#include "nas/arch.h"

namespace tern::nas {

struct Evaluated {
    Arch arch;
    double fitness = 0;
};

using Feasible = std::function<bool(const Arch&)>;
using Evaluate = std::function<double(const Arch&)>;

struct StrategyOptions {
    int64_t max_evals = 20;
    uint64_t seed = 1;
    // Regularized evolution (Real et al. 2019): population size and tournament size.
    int64_t population = 10, tournament = 3;
    // Draws (samples or mutations) tried for one feasible architecture before the
    // budget is declared unmeetable.
    int64_t max_tries = 2000;
};

// A feasible uniform sample of the space; throws InputError("budget", ...) when
// max_tries draws found none.
Arch sample_feasible(const Space& s, const Feasible& feasible, uint64_t seed, int64_t max_tries);

// max_evals feasible uniform samples, each evaluated; the history in order.
std::vector<Evaluated> random_search(const Space& s, const StrategyOptions& o, const Feasible& feasible,
                                     const Evaluate& evaluate);

// Regularized (aging) evolution: a population of random feasible
// architectures; then, until max_evals, a tournament of `tournament` members
// drawn with replacement picks the fittest as parent, its one-choice mutation
// (redrawn until feasible) is evaluated and joins, and the OLDEST member dies.
std::vector<Evaluated> regularized_evolution(const Space& s, const StrategyOptions& o, const Feasible& feasible,
                                             const Evaluate& evaluate);

// The history's fittest entry (the first of equals).
const Evaluated& best_of(const std::vector<Evaluated>& history);

}  // namespace tern::nas
