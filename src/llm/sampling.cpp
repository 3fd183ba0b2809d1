// Sampling filters and the seeded draw.
#include "llm/sampling.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "core/error.h"

namespace tern::llm {

void validate_sampler_params(const SamplerParams& p) {
    if (!(p.temperature >= 0) || !std::isfinite(p.temperature))
        throw UsageError("--temp", format("temperature must be >= 0, got %g", p.temperature));
    if (p.top_k < 0) throw UsageError("--top-k", format("top-k must be >= 0 (0 = off), got %d", p.top_k));
    if (!(p.top_p > 0 && p.top_p <= 1)) throw UsageError("--top-p", format("top-p must be in (0, 1], got %g", p.top_p));
    if (!(p.min_p >= 0 && p.min_p <= 1)) throw UsageError("--min-p", format("min-p must be in [0, 1], got %g", p.min_p));
    if (!(p.repeat_penalty > 0) || !std::isfinite(p.repeat_penalty))
        throw UsageError("--repeat-penalty", format("repeat penalty must be > 0, got %g", p.repeat_penalty));
    if (p.repeat_last_n < 0) throw UsageError("--repeat-last-n", "must be >= 0");
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) { validate_sampler_params(p); }

std::vector<Sampler::Candidate> Sampler::candidates(std::span<const float> logits,
                                                    std::span<const int32_t> history) const {
    const int64_t V = static_cast<int64_t>(logits.size());
    std::vector<Candidate> c(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) c[static_cast<size_t>(i)] = {static_cast<int32_t>(i), logits[static_cast<size_t>(i)], 0};
    // Repetition penalty (CTRL paper, as llama.cpp): each distinct recent token once.
    if (p_.repeat_penalty != 1.0f && p_.repeat_last_n > 0) {
        const size_t n = std::min<size_t>(history.size(), static_cast<size_t>(p_.repeat_last_n));
        std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
        for (int32_t t : seen)
            if (t >= 0 && t < V) {
                float& lg = c[static_cast<size_t>(t)].logit;
                lg = lg > 0 ? lg / p_.repeat_penalty : lg * p_.repeat_penalty;
            }
    }
    // Highest logit first; ties by id so the order (and greedy) is deterministic.
    auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
    if (p_.temperature == 0) {
        auto best = std::min_element(c.begin(), c.end(), by_logit);
        return {{best->id, best->logit, 1.0f}};
    }
    size_t keep = c.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
        keep = static_cast<size_t>(p_.top_k);
        std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(), by_logit);
    } else {
        std::sort(c.begin(), c.end(), by_logit);
    }
    c.resize(keep);
    // Softmax over the survivors (temperature 1 for the filters, as llama.cpp).
    auto softmax = [&](float temp) {
        const double mx = c.front().logit;
        double sum = 0;
        for (auto& e : c) sum += std::exp((double(e.logit) - mx) / temp);
        for (auto& e : c) e.p = static_cast<float>(std::exp((double(e.logit) - mx) / temp) / sum);
    };
    softmax(1.0f);
    if (p_.top_p < 1.0f) {
        double cum = 0;
        size_t n = 0;
        while (n < c.size()) {
            cum += c[n].p;
            ++n;
            if (cum >= p_.top_p) break;  // smallest prefix with mass >= top_p
        }
        c.resize(n);
    }
    if (p_.min_p > 0.0f) {
        const float floor_p = p_.min_p * c.front().p;  // relative to the most likely token
        size_t n = 1;
        while (n < c.size() && c[n].p >= floor_p) ++n;
        c.resize(n);
    }
    softmax(p_.temperature);
    return c;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    const std::vector<Candidate> c = candidates(logits, history);
    if (c.size() == 1) return c.front().id;
    // Inverse CDF on a double uniform: identical across platforms for a given seed
    // (std::discrete_distribution's algorithm is implementation-defined).
    const double u = std::generate_canonical<double, 53>(rng_);
    double cum = 0;
    for (const auto& e : c) {
        cum += e.p;
        if (u < cum) return e.id;
    }
    return c.back().id;
}

}  // namespace tern::llm
