#pragma once
// Perplexity as llama.cpp's `perplexity` tool defines it: the token stream is
// cut into non-overlapping windows of n_ctx tokens (a trailing partial window
// is dropped); each window is evaluated from an empty cache; only the second
// half is scored: for positions i in [n_ctx/2, n_ctx - 1) the NLL of token
// i+1 given logits at i. ppl = exp(mean NLL over all scored tokens).
// When the tokenizer adds BOS, llama.cpp also overwrites the first token of
// every window with BOS (so each window starts like a fresh sequence); pass
// that id as `bos` to do the same (-1: windows are evaluated as cut).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "llm/forward.h"

namespace tern::llm {

struct PerplexityResult {
    double ppl = 0;
    double mean_nll = 0;
    int64_t n_windows = 0;
    int64_t n_scored = 0;          // tokens whose NLL was summed
    int64_t n_tokens = 0;          // tokens in the input stream
    std::vector<double> window_ppl;  // running ppl after each window (llama.cpp prints these)
    double seconds = 0;
};

// session: a session whose n_ctx >= ctx; windows are evaluated session.n_seq()
// at a time (one forward pass), which gives the same result as one by one. on_window(i, running_ppl) is called
// after every window (progress output); may be empty.
// Throws InputError when fewer than ctx tokens are given or ctx < 4.
PerplexityResult compute_perplexity(Session& session, std::span<const int32_t> tokens, int64_t ctx,
                                    const std::function<void(int64_t, double)>& on_window = {}, int32_t bos = -1);

// log(sum_j exp(row[j])) in double with the max subtracted.
double log_sum_exp(const float* row, int64_t n);

// Evaluates windows [w0, w0 + nw) of `tokens` (nw <= session.n_seq()), each
// from an empty cache, BOS-overwritten when bos >= 0; logits gets the scored
// rows (positions [ctx/2, ctx)) of every window: (nw * (ctx - ctx/2), V).
struct WindowScratch {
    std::vector<int32_t> input;
    std::vector<SeqTokens> items;
};
void eval_scored_windows(Session& session, std::span<const int32_t> tokens, int64_t ctx, int32_t bos, int64_t w0,
                         int64_t nw, std::vector<float>& logits, WindowScratch& scratch);

// How many windows of `ctx` tokens a perplexity pass should evaluate at once
// (SessionOptions::n_seq): enough to fill kPerplexityPassRows rows of every
// weight matmul, never more than there are windows.
constexpr int64_t kPerplexityPassRows = 512;
int64_t perplexity_windows_per_pass(int64_t ctx, int64_t n_tokens);

}  // namespace tern::llm
