#pragma once
// Token sampling: repetition penalty -> top-k -> top-p -> min-p ->
// temperature -> a draw from std::mt19937_64 (llama.cpp's default order).
// temperature 0 is greedy (argmax; ties go to the lowest id). Same seed, same
// logits, same history -> same token.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace tern::llm {

struct SamplerParams {
    float temperature = 0.8f;     // 0: greedy
    int32_t top_k = 40;           // 0: off
    float top_p = 0.95f;          // 1: off; must be in (0, 1]
    float min_p = 0.05f;          // 0: off; must be in [0, 1]
    float repeat_penalty = 1.0f;  // 1: off; must be > 0
    int32_t repeat_last_n = 64;   // tokens of history the penalty looks at
    uint64_t seed = 0;
};

// Throws UsageError naming the bad option.
void validate_sampler_params(const SamplerParams& p);

class Sampler {
public:
    explicit Sampler(const SamplerParams& p);  // validates

    // logits: (n_vocab); history: tokens so far (prompt + generated).
    int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

    // The candidates left after penalty and filters, with their probabilities
    // (after temperature), sorted by probability descending. Exposed for tests.
    struct Candidate {
        int32_t id;
        float logit;
        float p;
    };
    std::vector<Candidate> candidates(std::span<const float> logits, std::span<const int32_t> history) const;

    const SamplerParams& params() const { return p_; }

private:
    SamplerParams p_;
    std::mt19937_64 rng_;
};

}  // namespace tern::llm
