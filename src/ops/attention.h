#pragma once
// ops::Attention: causal multi-head attention over a KV cache (MHA, MQA, GQA),
// prepared once for a head layout and run per forward pass on caller buffers.
// run() tiles over keys with an online softmax (running max and sum per query
// row), so its memory is O(tile) however long the context; run_naive() builds
// every score row in full and is the test truth.
#include <cstdint>
#include <span>

#include "ops/kv_cache.h"

namespace tern {
class ThreadPool;
}

namespace tern::ops {

// One sequence's share of a call: its queries, positions, cache and output.
struct AttentionSeq {
    const float* q = nullptr;        // (T, n_head * head_dim): queries of positions [pos0, pos0 + T), RoPE applied
    int64_t T = 0, pos0 = 0;
    const KvCache* cache = nullptr;  // keys/values of positions [0, pos0 + T) already stored
    float* out = nullptr;            // (T, n_head * head_dim)
};

class Attention {
public:
    // Throws InputError unless every count is positive, n_head is a multiple
    // of n_head_kv and scale is finite and positive (usually 1/sqrt(head_dim)).
    Attention(int64_t n_head, int64_t n_head_kv, int64_t head_dim, float scale);

    // Throws InputError when `cache` does not hold this layout's heads (the
    // runtime checks its caches once, so run() has nothing left to check).
    void check_cache(const KvCache& cache, int64_t layer) const;

    // Several independent sequences (each its own q, cache, positions and out)
    // of one layer in one parallel region on `pool`, so batched decode does not
    // pay a barrier per sequence. Scratch is per thread and reused: nothing is
    // allocated once the first call of the largest batch has run.
    void run(std::span<const AttentionSeq> seqs, int64_t layer, ThreadPool& pool) const;
    // Single-threaded, whole score rows (allocates); for tests.
    void run_naive(std::span<const AttentionSeq> seqs, int64_t layer) const;

    int64_t n_head() const { return n_head_; }
    int64_t n_head_kv() const { return n_head_kv_; }
    int64_t head_dim() const { return head_dim_; }
    float scale() const { return scale_; }

private:
    int64_t n_head_, n_head_kv_, head_dim_;
    float scale_;

    void naive_one(const AttentionSeq& a, int64_t layer) const;
};

// Tile sizes (exposed so tests can pick T, context not multiples of them).
constexpr int64_t kAttnQueryBlock = 16;
constexpr int64_t kAttnKeyTile = 64;

}  // namespace tern::ops
