#pragma once
// Session: one model, one KV cache, one position. eval() runs a batch of
// tokens through every layer at once (prefill: each weight matmul is one GEMM
// over all T rows) or a single token (decode, M = 1), appending their keys and
// values to the cache. Benchmarks time eval() directly:
//     Session s(model, {});
//     s.eval(prompt, logits);            // prefill tokens/s
//     s.eval({{next}}, logits);          // decode tokens/s
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "llm/kv_cache.h"
#include "llm/model_loader.h"
#include "ops/observer.h"

namespace tern::llm {

struct SessionOptions {
    int64_t n_ctx = 0;          // 0: the model's context, capped at kDefaultMaxCtx
    KvType kv_type = KvType::f32;
    int64_t max_batch = 512;    // prefill rows per GEMM chunk (bounds activation memory)
    bool naive_attention = false;  // tests: full score rows instead of the tiled kernel
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

    int64_t n_past() const { return n_past_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t n_vocab() const { return model_.config.n_vocab; }
    // Forget everything (the cache is overwritten as positions are reused).
    void reset() { n_past_ = 0; }
    // Drop positions >= n (n <= n_past): rewind for re-evaluation.
    void truncate(int64_t n);
    const Model& model() const { return model_; }
    const KvCache& cache() const { return cache_; }
    // Calls observer->on_linear after every weight matmul of eval() (q, k, v
    // one by one even when they run together; the head only on the rows whose
    // logits are wanted). Not owned; nullptr (the default) observes nothing.
    void set_linear_observer(ops::LinearObserver* observer) { observer_ = observer; }

private:
    // Rows [0, T) of x hold the hidden states of positions [pos0, pos0 + T).
    void run_chunk(const int32_t* tokens, int64_t T, int64_t pos0, float* logits, bool all_logits);
    void build_rope_tables();

    const Model& model_;
    SessionOptions opts_;
    int64_t n_ctx_;
    int64_t n_past_ = 0;
    KvCache cache_;
    std::vector<float> rope_cos_, rope_sin_;  // (n_ctx, rope_dim/2)
    struct Scratch;
    std::unique_ptr<Scratch> scratch_;  // activation buffers, grown to the largest chunk
    ops::LinearObserver* observer_ = nullptr;
};

}  // namespace tern::llm
