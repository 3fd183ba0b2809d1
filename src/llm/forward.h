#pragma once
// Session: one model and n_seq independent sequences, each with its own KV
// cache and position. eval() runs a batch of tokens of sequence 0 through every
// layer at once (prefill: each weight matmul is one GEMM over all T rows) or a
// single token (decode, M = 1), appending their keys and values to the cache.
// eval_many() runs tokens of several sequences in one forward pass: the rows
// of all of them share every weight matmul (one read of the weights serves
// every sequence, which is what makes batched decode cheaper than sequential
// decode), and each sequence's rows attend only to its own cache.
// Benchmarks time eval() directly:
//     Session s(model, {});
//     s.eval(prompt, logits);            // prefill tokens/s
//     s.eval({{next}}, logits);          // decode tokens/s
#include <cstdint>
#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "llm/model_loader.h"
#include "ops/attention.h"
#include "ops/kv_cache.h"
#include "ops/norm.h"
#include "ops/observer.h"

namespace tern::llm {

struct SessionOptions {
    int64_t n_ctx = 0;          // 0: the model's context, capped at kDefaultMaxCtx
    ops::KvType kv_type = ops::KvType::f32;
    int64_t max_batch = 512;    // prefill rows per GEMM chunk (bounds activation memory)
    bool naive_attention = false;  // tests: full score rows instead of the tiled kernel
    int64_t n_seq = 1;          // independent sequences, each with its own cache of n_ctx positions
};

// One sequence's part of an eval_many() call: `tokens` continue sequence `seq`
// at its current position; the last `logit_rows` of them (1: the next-token
// logits; tokens.size(): every position) get logits.
struct SeqTokens {
    int32_t seq = 0;
    std::span<const int32_t> tokens;
    int64_t logit_rows = 1;
};
constexpr int64_t kDefaultMaxCtx = 4096;

class Session {
public:
    Session(const Model& model, SessionOptions opts);
    ~Session();

    // Runs `tokens` at positions [n_past, n_past + T) and advances n_past.
    // logits: resized to (T, n_vocab) when all_logits, else (n_vocab) for the
    // last token. Throws InputError when the context would overflow or a token
    // id is outside the vocabulary.
    void eval(std::span<const int32_t> tokens, std::vector<float>& logits, bool all_logits = false);
    // Runs every item's tokens (distinct sequences) in one forward pass and
    // advances each sequence. logits: resized to (Σ logit_rows, n_vocab), the
    // items' rows in order. Throws InputError for a bad sequence id, a repeated
    // sequence, an empty item, a context overflow or an id outside the vocabulary.
    void eval_many(std::span<const SeqTokens> items, std::vector<float>& logits);

    int64_t n_past(int32_t seq = 0) const { return n_past_.at(static_cast<size_t>(seq)); }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_seq() const { return static_cast<int64_t>(caches_.size()); }
    int64_t n_vocab() const { return model_.config.n_vocab; }
    // Forget everything (the caches are overwritten as positions are reused).
    void reset() { std::fill(n_past_.begin(), n_past_.end(), 0); }
    void reset(int32_t seq) { n_past_.at(static_cast<size_t>(seq)) = 0; }
    // Drop positions >= n (n <= n_past) of sequence 0 / seq: rewind for re-evaluation.
    void truncate(int64_t n) { truncate(0, n); }
    void truncate(int32_t seq, int64_t n);
    const Model& model() const { return model_; }
    const ops::KvCache& cache(int32_t seq = 0) const { return caches_.at(static_cast<size_t>(seq)); }
    // Calls observer->on_linear after every weight matmul of eval() (q, k, v
    // one by one even when they run together; the head only on the rows whose
    // logits are wanted). Not owned; nullptr (the default) observes nothing.
    void set_linear_observer(ops::LinearObserver* observer) { observer_ = observer; }

private:
    // A run of rows of one forward pass that belong to one sequence.
    struct Segment {
        int32_t seq;
        int64_t row0, rows;    // rows [row0, row0 + rows) of the pass
        int64_t pos0;          // the sequence's position of row0
        int64_t logit_rows;    // the segment's last logit_rows rows get logits
    };
    // Rows [0, T) of x hold the segments' hidden states, in order; logits gets
    // (Σ logit_rows, V) rows.
    void run_chunk(const int32_t* tokens, int64_t T, std::span<const Segment> segs, float* logits);
    void build_rope_tables();

    const Model& model_;
    SessionOptions opts_;
    int64_t n_ctx_;
    std::vector<int64_t> n_past_;  // (n_seq)
    std::vector<ops::KvCache> caches_;  // (n_seq)
    std::vector<ops::Norm> norms_;  // (2 n_layer + 1): attention and MLP norm per layer, then the output norm
    std::unique_ptr<ops::Attention> attention_;  // the model's head layout, checked against the caches once
    std::vector<float> rope_cos_, rope_sin_;  // (n_ctx, rope_dim/2)
    struct Scratch;
    std::unique_ptr<Scratch> scratch_;  // activation buffers, grown to the largest chunk
    ops::LinearObserver* observer_ = nullptr;
};

}  // namespace tern::llm
