// llama.cpp-compatible perplexity over non-overlapping windows.
#include "llm/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace tern::llm {

int64_t perplexity_windows_per_pass(int64_t ctx, int64_t n_tokens) {
    if (ctx <= 0) return 1;
    return std::clamp<int64_t>(kPerplexityPassRows / ctx, 1, std::max<int64_t>(1, n_tokens / ctx));
}

double log_sum_exp(const float* row, int64_t n) {
    double mx = row[0];
    for (int64_t j = 1; j < n; ++j) mx = std::max(mx, double(row[j]));
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(double(row[j]) - mx);
    return std::log(sum) + mx;
}

void eval_scored_windows(Session& session, std::span<const int32_t> tokens, int64_t ctx, int32_t bos, int64_t w0,
                         int64_t nw, std::vector<float>& logits, WindowScratch& scratch) {
    if (nw > session.n_seq()) throw InputError("perplexity", "more windows than the session's sequences");
    if ((w0 + nw) * ctx > static_cast<int64_t>(tokens.size())) throw InputError("perplexity", "window past the tokens");
    const int64_t scored_rows = ctx - ctx / 2;
    scratch.input.resize(static_cast<size_t>(nw * ctx));
    scratch.items.clear();
    for (int64_t i = 0; i < nw; ++i) {
        int32_t* in = scratch.input.data() + i * ctx;
        std::copy_n(tokens.data() + (w0 + i) * ctx, ctx, in);
        if (bos >= 0) in[0] = bos;  // llama.cpp: every window starts with BOS
        session.reset(static_cast<int32_t>(i));
        scratch.items.push_back({static_cast<int32_t>(i), std::span<const int32_t>(in, static_cast<size_t>(ctx)), scored_rows});
    }
    session.eval_many(scratch.items, logits);
}

PerplexityResult compute_perplexity(Session& session, std::span<const int32_t> tokens, int64_t ctx,
                                    const std::function<void(int64_t, double)>& on_window, int32_t bos) {
    if (ctx < 4) throw InputError("perplexity", format("context %lld is too small (need >= 4)", (long long)ctx));
    if (ctx > session.n_ctx())
        throw InputError("perplexity", format("context %lld exceeds the session's %lld", (long long)ctx, (long long)session.n_ctx()));
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n < ctx)
        throw InputError("perplexity", format("%lld tokens are fewer than one window of %lld", (long long)n, (long long)ctx));
    const auto t0 = std::chrono::steady_clock::now();
    PerplexityResult r;
    r.n_tokens = n;
    r.n_windows = n / ctx;
    const int64_t V = session.n_vocab();
    const int64_t first = ctx / 2;
    double nll_sum = 0;
    // Windows are independent sequences: up to session.n_seq() of them share
    // one forward pass (every weight matmul runs over all their rows). Only
    // the scored half of each window goes through the output head.
    const int64_t per_pass = std::max<int64_t>(1, session.n_seq());
    const int64_t scored_rows = ctx - first;  // logits of positions [first, ctx)
    std::vector<float> logits;                // (per_pass * scored_rows, V)
    WindowScratch scratch;
    for (int64_t w0 = 0; w0 < r.n_windows; w0 += per_pass) {
        const int64_t nw = std::min(per_pass, r.n_windows - w0);
        eval_scored_windows(session, tokens, ctx, bos, w0, nw, logits, scratch);
        for (int64_t i = 0; i < nw; ++i) {
            const int32_t* win = tokens.data() + (w0 + i) * ctx;  // (ctx), the targets
            for (int64_t p = first; p < ctx - 1; ++p) {
                // -log softmax(logits[p])[win[p+1]], in double with the max subtracted.
                const float* row = logits.data() + (i * scored_rows + p - first) * V;
                nll_sum += log_sum_exp(row, V) - double(row[win[p + 1]]);
                ++r.n_scored;
            }
            const double running = std::exp(nll_sum / double(r.n_scored));
            r.window_ppl.push_back(running);
            if (on_window) on_window(w0 + i, running);
        }
    }
    r.mean_nll = nll_sum / double(r.n_scored);
    r.ppl = std::exp(r.mean_nll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace tern::llm
