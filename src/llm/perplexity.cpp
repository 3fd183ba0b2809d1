// llama.cpp-compatible perplexity over non-overlapping windows.
#include "llm/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"

namespace tern::llm {

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
    std::vector<float> logits;  // (ctx, V)
    std::vector<int32_t> input(static_cast<size_t>(ctx));  // the window as evaluated
    for (int64_t w = 0; w < r.n_windows; ++w) {
        const int32_t* win = tokens.data() + w * ctx;  // (ctx), the targets
        std::copy(win, win + ctx, input.begin());
        if (bos >= 0) input[0] = bos;  // llama.cpp: every window starts with BOS
        session.reset();
        session.eval(input, logits, /*all_logits=*/true);
        for (int64_t i = first; i < ctx - 1; ++i) {
            // -log softmax(logits[i])[win[i+1]], in double with the max subtracted.
            const float* row = logits.data() + i * V;
            double mx = row[0];
            for (int64_t j = 1; j < V; ++j) mx = std::max(mx, double(row[j]));
            double sum = 0;
            for (int64_t j = 0; j < V; ++j) sum += std::exp(double(row[j]) - mx);
            nll_sum += std::log(sum) + mx - double(row[win[i + 1]]);
            ++r.n_scored;
        }
        const double running = std::exp(nll_sum / double(r.n_scored));
        r.window_ppl.push_back(running);
        if (on_window) on_window(w, running);
    }
    r.mean_nll = nll_sum / double(r.n_scored);
    r.ppl = std::exp(r.mean_nll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace tern::llm
