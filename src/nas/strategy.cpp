#include "nas/strategy.h"

#include <deque>

#include "core/error.h"
#include "nas/sampler.h"

namespace tern::nas {
namespace {

[[noreturn]] void unmeetable(int64_t tries) {
    throw InputError("budget", format("no architecture of the search space met the budget in %lld draws "
                                      "(loosen --latency-ms / --params / --macs)",
                                      (long long)tries));
}

Arch draw_feasible(const Space& s, const Feasible& feasible, data::Rng& rng, int64_t max_tries) {
    for (int64_t t = 0; t < max_tries; ++t) {
        Arch a = sample_arch(s, rng);
        if (!feasible || feasible(a)) return a;
    }
    unmeetable(max_tries);
}

}  // namespace

Arch sample_feasible(const Space& s, const Feasible& feasible, uint64_t seed, int64_t max_tries) {
    data::Rng rng(seed);
    return draw_feasible(s, feasible, rng, max_tries);
}

std::vector<Evaluated> random_search(const Space& s, const StrategyOptions& o, const Feasible& feasible,
                                     const Evaluate& evaluate) {
    data::Rng rng(o.seed);
    std::vector<Evaluated> history;
    for (int64_t i = 0; i < o.max_evals; ++i) {
        Arch a = draw_feasible(s, feasible, rng, o.max_tries);
        const double f = evaluate(a);
        history.push_back({std::move(a), f});
    }
    return history;
}

std::vector<Evaluated> regularized_evolution(const Space& s, const StrategyOptions& o, const Feasible& feasible,
                                             const Evaluate& evaluate) {
    data::Rng rng(o.seed);
    std::vector<Evaluated> history;
    std::deque<Evaluated> population;  // front: the oldest
    const int64_t pop = std::max<int64_t>(1, std::min(o.population, o.max_evals));
    while (static_cast<int64_t>(history.size()) < pop) {
        Arch a = draw_feasible(s, feasible, rng, o.max_tries);
        const double f = evaluate(a);
        history.push_back({a, f});
        population.push_back({std::move(a), f});
    }
    while (static_cast<int64_t>(history.size()) < o.max_evals) {
        const Evaluated* parent = nullptr;
        for (int64_t t = 0; t < std::max<int64_t>(1, o.tournament); ++t) {
            const Evaluated& c = population[rng.below(population.size())];
            if (!parent || c.fitness > parent->fitness) parent = &c;
        }
        Arch child;
        int64_t tries = 0;
        do {
            if (++tries > o.max_tries) unmeetable(o.max_tries);
            child = mutate_arch(parent->arch, s, rng);
        } while (feasible && !feasible(child));
        const double f = evaluate(child);
        history.push_back({child, f});
        population.push_back({std::move(child), f});
        population.pop_front();
    }
    return history;
}

const Evaluated& best_of(const std::vector<Evaluated>& history) {
    if (history.empty()) throw InputError("search", "no architecture was evaluated");
    size_t best = 0;
    for (size_t i = 1; i < history.size(); ++i)
        if (history[i].fitness > history[best].fitness) best = i;
    return history[best];
}

}  // namespace tern::nas
