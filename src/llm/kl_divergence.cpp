#include "llm/kl_divergence.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "llm/perplexity.h"

namespace tern::llm {

KlDivergenceResult compute_kl_divergence(Session& base, Session& model, std::span<const int32_t> tokens, int64_t ctx,
                                         int32_t bos) {
    constexpr const char* kWhere = "kl-divergence";
    if (base.n_vocab() != model.n_vocab())
        throw InputError(kWhere, format("the base model has %lld tokens in its vocabulary, the model %lld",
                                        (long long)base.n_vocab(), (long long)model.n_vocab()));
    if (ctx < 4) throw InputError(kWhere, format("context %lld is too small (need >= 4)", (long long)ctx));
    if (ctx > base.n_ctx() || ctx > model.n_ctx())
        throw InputError(kWhere, format("context %lld exceeds a session's", (long long)ctx));
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n < ctx) throw InputError(kWhere, format("%lld tokens are fewer than one window of %lld", (long long)n, (long long)ctx));
    const auto t0 = std::chrono::steady_clock::now();
    KlDivergenceResult r;
    r.n_windows = n / ctx;
    const int64_t V = base.n_vocab(), first = ctx / 2, scored_rows = ctx - first;
    const int64_t per_pass = std::max<int64_t>(1, std::min(base.n_seq(), model.n_seq()));
    std::vector<float> lb, lm;
    WindowScratch sb, sm;
    std::vector<double> kls;
    double nll_base = 0, nll_model = 0;
    int64_t same = 0;
    for (int64_t w0 = 0; w0 < r.n_windows; w0 += per_pass) {
        const int64_t nw = std::min(per_pass, r.n_windows - w0);
        eval_scored_windows(base, tokens, ctx, bos, w0, nw, lb, sb);
        eval_scored_windows(model, tokens, ctx, bos, w0, nw, lm, sm);
        for (int64_t i = 0; i < nw; ++i) {
            const int32_t* win = tokens.data() + (w0 + i) * ctx;
            for (int64_t p = first; p < ctx - 1; ++p) {
                const size_t at = static_cast<size_t>((i * scored_rows + p - first) * V);
                const float* b = lb.data() + at;
                const float* m = lm.data() + at;
                const double zb = log_sum_exp(b, V), zm = log_sum_exp(m, V);
                double kl = 0;
                for (int64_t j = 0; j < V; ++j) {
                    const double log_pb = double(b[j]) - zb;
                    kl += std::exp(log_pb) * (log_pb - (double(m[j]) - zm));
                }
                kls.push_back(std::max(kl, 0.0));  // rounding can leave a tiny negative for equal rows
                nll_base += zb - double(b[win[p + 1]]);
                nll_model += zm - double(m[win[p + 1]]);
                same += std::max_element(b, b + V) - b == std::max_element(m, m + V) - m;
            }
        }
    }
    r.n_scored = static_cast<int64_t>(kls.size());
    if (r.n_scored == 0) throw InputError(kWhere, "no position to score");
    double sum = 0;
    for (double k : kls) sum += k;
    r.mean_kl = sum / double(r.n_scored);
    std::sort(kls.begin(), kls.end());
    r.median_kl = kls[kls.size() / 2];
    r.p99_kl = kls[std::min(kls.size() - 1, static_cast<size_t>(0.99 * double(kls.size())))];
    r.max_kl = kls.back();
    r.same_top_token = double(same) / double(r.n_scored);
    r.ppl_base = std::exp(nll_base / double(r.n_scored));
    r.ppl_model = std::exp(nll_model / double(r.n_scored));
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace tern::llm
