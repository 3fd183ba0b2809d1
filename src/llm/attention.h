#pragma once
// Causal multi-head attention over the KV cache (MHA, MQA, GQA).
// attention_flash tiles over keys with an online softmax (running max and
// sum per query row), so its memory is O(tile) however long the context;
// attention_naive builds every score row in full and is the test truth.
#include <cstdint>
#include <span>

#include "llm/kv_cache.h"

namespace tern {
class ThreadPool;
}

namespace tern::llm {

struct AttentionArgs {
    const float* q = nullptr;  // (T, n_head * head_dim): queries of positions [pos0, pos0 + T), RoPE applied
    int64_t T = 0, pos0 = 0;
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
    float scale = 1.0f;        // usually 1/sqrt(head_dim)
    const KvCache* cache = nullptr;  // keys/values of positions [0, pos0 + T) already stored
    int64_t layer = 0;
    float* out = nullptr;      // (T, n_head * head_dim)
};

// Heads and query blocks in parallel on `pool`.
void attention_flash(const AttentionArgs& a, ThreadPool& pool);
// Several independent sequences (each its own q, cache, positions and out; the
// same head shapes and layer) in one parallel region, so batched decode does
// not pay a barrier per sequence.
void attention_flash_many(std::span<const AttentionArgs> as, ThreadPool& pool);
// Single-threaded, whole score rows; for tests.
void attention_naive(const AttentionArgs& a);

// Tile sizes (exposed so tests can pick T, context not multiples of them).
constexpr int64_t kAttnQueryBlock = 16;
constexpr int64_t kAttnKeyTile = 64;

}  // namespace tern::llm
