#pragma once
// How far a (quantized) model's next-token distributions are from a base
// model's on the same text, as llama.cpp's `perplexity --kl-divergence`
// reports it: over the positions perplexity scores (llm/perplexity.h), the
// KL divergence KL(P_base || P_model) per position (mean, median, 99th
// percentile, max), how often both put the same token first, and both
// perplexities.
#include <cstdint>
#include <span>

#include "llm/forward.h"

namespace tern::llm {

struct KlDivergenceResult {
    double mean_kl = 0, median_kl = 0, p99_kl = 0, max_kl = 0;
    double same_top_token = 0;  // fraction of positions where both argmaxes agree
    double ppl_base = 0, ppl_model = 0;
    int64_t n_windows = 0, n_scored = 0;
    double seconds = 0;
};

// base and model: sessions of two models with the same vocabulary, both with
// n_ctx >= ctx; windows go through each n_seq() at a time (the smaller of the
// two). InputError on different vocabularies or fewer than ctx tokens.
KlDivergenceResult compute_kl_divergence(Session& base, Session& model, std::span<const int32_t> tokens, int64_t ctx,
                                         int32_t bos = -1);

}  // namespace tern::llm
