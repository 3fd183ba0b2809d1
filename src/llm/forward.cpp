// The decoder forward pass: embeddings, per-layer norm -> attention -> MLP
// with residuals, final norm and the output head.
#include "llm/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/nonfinite_scan.h"
#include "kernels/elementwise/elementwise.h"
#include "kernels/hadamard/hadamard.h"
#include "ops/attention.h"
#include "ops/norm.h"

namespace tern::llm {

struct Session::Scratch {
    std::vector<float> x;     // (T, d) residual stream
    std::vector<float> xn;    // (T, d) normalised input of a sub-block
    std::vector<float> q;     // (T, q_dim)
    std::vector<float> k, v;  // (T, kv_dim)
    std::vector<float> att;   // (T, q_dim) attention output before wo
    std::vector<float> proj;  // (T, d) wo / ffn_down output
    std::vector<float> gate;  // (T, ff)
    std::vector<float> up;    // (T, ff)
    std::vector<int64_t> row_pos;        // (T) each row's position in its sequence
    std::vector<int64_t> logit_row;      // (n) rows of the pass whose logits are wanted
    std::vector<int32_t> chunk_tokens;   // (T) the pass's tokens, segments in order
    std::vector<ops::AttentionSeq> attn;  // (segments) each sequence's share of the attention call
    void grow(int64_t T, const ModelConfig& c) {
        auto g = [](std::vector<float>& b, int64_t n) {
            if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
        };
        g(x, T * c.n_embd), g(xn, T * c.n_embd), g(proj, T * c.n_embd);
        g(q, T * c.q_dim()), g(att, T * c.q_dim());
        g(k, T * c.kv_dim()), g(v, T * c.kv_dim());
        g(up, T * c.n_ff);
        if (c.arch != Arch::gpt2) g(gate, T * c.n_ff);
    }
};

Session::Session(const Model& model, SessionOptions opts)
    : model_(model),
      opts_(opts),
      n_ctx_(opts.n_ctx > 0 ? opts.n_ctx : std::min(model.config.n_ctx_train, kDefaultMaxCtx)),
      scratch_(std::make_unique<Scratch>()) {
    if (opts_.max_batch <= 0) opts_.max_batch = 512;
    if (opts_.n_seq < 1) throw InputError("session", format("%lld sequences: need at least 1", (long long)opts_.n_seq));
    n_past_.assign(static_cast<size_t>(opts_.n_seq), 0);
    caches_.reserve(static_cast<size_t>(opts_.n_seq));
    for (int64_t i = 0; i < opts_.n_seq; ++i)
        caches_.emplace_back(model.config.n_layer, model.config.n_head_kv, model.config.head_dim, n_ctx_, opts.kv_type);
    attention_ = std::make_unique<ops::Attention>(model.config.n_head, model.config.n_head_kv, model.config.head_dim,
                                                  1.0f / std::sqrt(static_cast<float>(model.config.head_dim)));
    if (model.config.n_layer > 0) attention_->check_cache(caches_.front(), model.config.n_layer - 1);  // all alike
    // RMS norms (layer norms for gpt2), per layer before attention and the
    // MLP, then the output norm.
    const ModelConfig& c = model.config;
    auto make_norm = [&](const std::vector<float>& w, const std::vector<float>& b) {
        return c.arch == Arch::gpt2 ? ops::Norm::layer(c.n_embd, w, b, c.norm_eps) : ops::Norm::rms(c.n_embd, w, c.norm_eps);
    };
    norms_.reserve(2 * model.layers.size() + 1);
    for (const LayerWeights& L : model.layers) {
        norms_.push_back(make_norm(L.attn_norm_w, L.attn_norm_b));
        norms_.push_back(make_norm(L.ffn_norm_w, L.ffn_norm_b));
    }
    norms_.push_back(make_norm(model.output_norm_w, model.output_norm_b));
    // gpt2 has learned positions: none exist past its trained context.
    if (model.config.arch == Arch::gpt2 && n_ctx_ > model.config.n_ctx_train)
        throw InputError(model.path, format("context %lld exceeds GPT-2's %lld learned positions", (long long)n_ctx_,
                                            (long long)model.config.n_ctx_train));
    if (model.config.uses_rope()) build_rope_tables();
}

Session::~Session() = default;

void Session::truncate(int32_t seq, int64_t n) {
    if (n < 0 || n > n_past(seq)) throw InputError("session", "truncate past the evaluated tokens");
    n_past_[static_cast<size_t>(seq)] = n;
}

// cos/sin of (pos * inv_freq[i]) in double, for every position of the context.
// Llama 3 scaling divides the long-wavelength frequencies by `factor` and
// blends the band between; GGUF Llama 3 carries the same as rope_freqs factors.
void Session::build_rope_tables() {
    const ModelConfig& c = model_.config;
    const int64_t half = c.rope_dim / 2;
    std::vector<double> inv_freq(static_cast<size_t>(half));
    for (int64_t i = 0; i < half; ++i) {
        double f = std::pow(double(c.rope_theta), -2.0 * double(i) / double(c.rope_dim));
        if (c.rope_scaling == RopeScaling::llama3) {
            const double kPi = 3.14159265358979323846;
            const double wavelen = 2 * kPi / f;
            const double low_wavelen = double(c.rope_orig_ctx) / c.rope_low_freq_factor;
            const double high_wavelen = double(c.rope_orig_ctx) / c.rope_high_freq_factor;
            if (wavelen > low_wavelen) {
                f /= c.rope_factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth = (double(c.rope_orig_ctx) / wavelen - c.rope_low_freq_factor) /
                                      (c.rope_high_freq_factor - c.rope_low_freq_factor);
                f = (1 - smooth) * f / c.rope_factor + smooth * f;
            }
        }
        if (!model_.rope_freq_factors.empty()) f /= model_.rope_freq_factors[static_cast<size_t>(i)];
        inv_freq[static_cast<size_t>(i)] = f;
    }
    const double pos_scale = c.rope_scaling == RopeScaling::linear ? 1.0 / c.rope_factor : 1.0;
    rope_cos_.resize(static_cast<size_t>(n_ctx_ * half));
    rope_sin_.resize(static_cast<size_t>(n_ctx_ * half));
    for (int64_t p = 0; p < n_ctx_; ++p)
        for (int64_t i = 0; i < half; ++i) {
            const double ang = double(p) * pos_scale * inv_freq[static_cast<size_t>(i)];
            rope_cos_[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(ang));
            rope_sin_[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(ang));
        }
}

void Session::eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits) {
    const SeqTokens item{0, tokens, all_logits ? static_cast<int64_t>(tokens.size()) : 1};
    eval_many(std::span(&item, 1), logits);
}

void Session::eval_many(std::span<const SeqTokens> items, std::vector<float>& logits) {
    const int64_t V = model_.config.n_vocab;
    if (items.empty()) throw InputError("session", "no tokens to evaluate");
    std::vector<bool> seen(static_cast<size_t>(n_seq()), false);
    int64_t out_rows = 0;
    for (const SeqTokens& it : items) {
        const int64_t T = static_cast<int64_t>(it.tokens.size());
        if (it.seq < 0 || it.seq >= n_seq())
            throw InputError("session", format("sequence %d is outside [0, %lld)", it.seq, (long long)n_seq()));
        if (seen[static_cast<size_t>(it.seq)])
            throw InputError("session", format("sequence %d appears twice in one batch", it.seq));
        seen[static_cast<size_t>(it.seq)] = true;
        if (T == 0) throw InputError("session", "no tokens to evaluate");
        if (it.logit_rows < 0 || it.logit_rows > T)
            throw InputError("session", format("%lld logit rows for %lld tokens", (long long)it.logit_rows, (long long)T));
        const int64_t past = n_past(it.seq);
        if (past + T > n_ctx_)
            throw InputError("session", format("%lld tokens after %lld already evaluated exceed the context of %lld",
                                               (long long)T, (long long)past, (long long)n_ctx_));
        for (int32_t t : it.tokens)
            if (t < 0 || t >= V)
                throw InputError("session", format("token id %d is outside the vocabulary [0, %lld)", t, (long long)V));
        out_rows += it.logit_rows;
    }
    logits.resize(static_cast<size_t>(out_rows * V));
    // Passes of at most max_batch rows: items are packed in order, a long one
    // continues in the next pass. Each item's logit rows are contiguous in the
    // output and consecutive items' follow each other, so a pass's logit rows
    // are one contiguous block.
    Scratch& s = *scratch_;
    std::vector<Segment> segs;
    size_t item = 0;
    int64_t done = 0;      // tokens of items[item] already evaluated
    int64_t out_row = 0;   // next logits row to write
    while (item < items.size()) {
        segs.clear();
        s.chunk_tokens.clear();
        int64_t T = 0, pass_logits = 0;
        while (item < items.size() && T < opts_.max_batch) {
            const SeqTokens& it = items[item];
            const int64_t n_tok = static_cast<int64_t>(it.tokens.size());
            const int64_t rows = std::min(opts_.max_batch - T, n_tok - done);
            // This piece holds tokens [done, done + rows); logits go to tokens >= n_tok - logit_rows.
            const int64_t lr = std::max<int64_t>(0, done + rows - std::max(done, n_tok - it.logit_rows));
            segs.push_back({it.seq, T, rows, n_past(it.seq), lr});
            s.chunk_tokens.insert(s.chunk_tokens.end(), it.tokens.begin() + done, it.tokens.begin() + done + rows);
            T += rows;
            pass_logits += lr;
            done += rows;
            if (done == n_tok) ++item, done = 0;
        }
        run_chunk(s.chunk_tokens.data(), T, segs, pass_logits > 0 ? logits.data() + out_row * V : nullptr);
        for (const Segment& g : segs) n_past_[static_cast<size_t>(g.seq)] += g.rows;
        out_row += pass_logits;
    }
    // NaN / Inf logits would sample token 0 forever or print "PPL = nan": stop instead.
    if (count_nonfinite(logits.data(), static_cast<int64_t>(logits.size())) != 0) {
        int64_t row = 0;
        for (const SeqTokens& it : items) {
            const int64_t bad = count_nonfinite(logits.data() + row * V, it.logit_rows * V);
            if (bad != 0) {
                const int64_t end = n_past(it.seq), T = static_cast<int64_t>(it.tokens.size());
                throw InputError(model_.path, format("the logits at positions [%lld, %lld)%s are NaN or Inf: the weights "
                                                     "or activations overflow",
                                                     (long long)(end - T), (long long)end,
                                                     n_seq() > 1 ? format(" of sequence %d", it.seq).c_str() : ""));
            }
            row += it.logit_rows;
        }
    }
}

void Session::run_chunk(const int32_t* tokens, int64_t T, std::span<const Segment> segs, float* logits) {
    const ModelConfig& c = model_.config;
    const int64_t d = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim(), ff = c.n_ff;
    const bool gpt2 = c.arch == Arch::gpt2;
    const ElementwiseKernels& ew = elementwise_kernel();
    ThreadPool& pool = default_pool();
    Scratch& s = *scratch_;
    s.grow(T, c);
    float* x = s.x.data();  // (T, d)
    s.row_pos.resize(static_cast<size_t>(T));
    s.logit_row.clear();
    for (const Segment& g : segs)
        for (int64_t r = 0; r < g.rows; ++r) {
            s.row_pos[static_cast<size_t>(g.row0 + r)] = g.pos0 + r;
            if (r >= g.rows - g.logit_rows) s.logit_row.push_back(g.row0 + r);
        }
    const int64_t* row_pos = s.row_pos.data();  // (T)

    for (int64_t t = 0; t < T; ++t) {
        model_.embed(tokens[t], x + t * d);
        if (gpt2) ew.add(x + t * d, model_.position_embd.data() + row_pos[t] * d, x + t * d, d);
    }
    // Per-row work (norms, rope) is tiny for decode; only thread it for batches.
    const int64_t row_grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(d, 1));

    s.attn.resize(segs.size());
    for (size_t i = 0; i < segs.size(); ++i) {
        ops::AttentionSeq& aa = s.attn[i];
        aa.T = segs[i].rows;
        aa.pos0 = segs[i].pos0;
        aa.cache = &caches_[static_cast<size_t>(segs[i].seq)];
        aa.q = s.q.data() + segs[i].row0 * qd;    // (rows, qd)
        aa.out = s.att.data() + segs[i].row0 * qd;
    }
    const int64_t half = c.rope_dim / 2;
    // One null check per Linear when nothing observes.
    auto observe = [&](io::TensorRole role, int64_t layer, const ops::Linear& w, const float* in, const float* out,
                       int64_t rows) {
        if (observer_)
            observer_->on_linear({{role, static_cast<int32_t>(layer)}, in, rows, w.in_features(), out, w.out_features()});
    };

    for (int64_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& L = model_.layers[static_cast<size_t>(l)];
        norms_[static_cast<size_t>(2 * l)].run(x, s.xn.data(), T, pool);
        {
            const ops::Linear* qkv[] = {L.wq.get(), L.wk.get(), L.wv.get()};
            float* out[] = {s.q.data(), s.k.data(), s.v.data()};  // (T, qd), (T, kvd), (T, kvd)
            ops::Linear::forward_many(qkv, s.xn.data(), out, T);
            observe(io::TensorRole::attn_q, l, *L.wq, s.xn.data(), s.q.data(), T);
            observe(io::TensorRole::attn_k, l, *L.wk, s.xn.data(), s.k.data(), T);
            observe(io::TensorRole::attn_v, l, *L.wv, s.xn.data(), s.v.data(), T);
        }
        if (c.uses_rope()) {
            pool.parallel_for(T, row_grain, [&](int64_t rb, int64_t re) {
                for (int64_t t = rb; t < re; ++t) {
                    const float* cs = rope_cos_.data() + row_pos[t] * half;  // (half)
                    const float* sn = rope_sin_.data() + row_pos[t] * half;
                    ew.rope(s.q.data() + t * qd, cs, sn, c.n_head, c.head_dim, c.rope_neox);
                    ew.rope(s.k.data() + t * kvd, cs, sn, c.n_head_kv, c.head_dim, c.rope_neox);
                }
            });
        }
        for (const Segment& g : segs)
            caches_[static_cast<size_t>(g.seq)].store(l, g.pos0, g.rows, s.k.data() + g.row0 * kvd,
                                                      s.v.data() + g.row0 * kvd);
        if (opts_.naive_attention)
            attention_->run_naive(s.attn, l);
        else
            attention_->run(s.attn, l, pool);
        L.wo->forward(s.att.data(), s.proj.data(), T);  // (T, d)
        observe(io::TensorRole::attn_output, l, *L.wo, s.att.data(), s.proj.data(), T);
        ew.add(x, s.proj.data(), x, T * d);

        norms_[static_cast<size_t>(2 * l + 1)].run(x, s.xn.data(), T, pool);
        if (gpt2) {
            L.ffn_up->forward(s.xn.data(), s.up.data(), T);  // (T, ff), GELU in the epilogue
            observe(io::TensorRole::ffn_up, l, *L.ffn_up, s.xn.data(), s.up.data(), T);
        } else {
            const ops::Linear* gate_up[] = {L.ffn_gate.get(), L.ffn_up.get()};
            float* out[] = {s.gate.data(), s.up.data()};  // (T, ff) each
            ops::Linear::forward_many(gate_up, s.xn.data(), out, T);
            observe(io::TensorRole::ffn_gate, l, *L.ffn_gate, s.xn.data(), s.gate.data(), T);
            observe(io::TensorRole::ffn_up, l, *L.ffn_up, s.xn.data(), s.up.data(), T);  // before silu_mul overwrites up
            pool.parallel_for(T, 1, [&](int64_t rb, int64_t re) {
                ew.silu_mul(s.gate.data() + rb * ff, s.up.data() + rb * ff, s.up.data() + rb * ff, (re - rb) * ff);
            });
        }
        if (c.ffn_down_hadamard > 0)  // the online Hadamard its weight was rotated for (quant/rotate.h)
            pool.parallel_for(T, 1, [&](int64_t rb, int64_t re) {
                for (int64_t t = rb; t < re; ++t) fwht_blocks(s.up.data() + t * ff, ff, c.ffn_down_hadamard);
            });
        L.ffn_down->forward(s.up.data(), s.proj.data(), T);  // (T, d)
        observe(io::TensorRole::ffn_down, l, *L.ffn_down, s.up.data(), s.proj.data(), T);
        ew.add(x, s.proj.data(), x, T * d);
    }

    if (!logits || s.logit_row.empty()) return;
    // Final norm and head on the rows whose logits are wanted, gathered into
    // the first n rows of xn.
    const int64_t n = static_cast<int64_t>(s.logit_row.size());
    pool.parallel_for(n, row_grain, [&](int64_t rb, int64_t re) {
        for (int64_t i = rb; i < re; ++i) {
            norms_.back().run_row(x + s.logit_row[static_cast<size_t>(i)] * d, s.xn.data() + i * d);
        }
    });
    model_.output->forward(s.xn.data(), logits, n);  // (n, V)
    observe(io::TensorRole::output, -1, *model_.output, s.xn.data(), logits, n);
}

}  // namespace tern::llm
