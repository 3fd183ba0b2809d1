#pragma once
// Contiguous KV cache: for every layer and kv head, keys and values of
// positions [0, n_ctx) as (n_ctx, head_dim) rows, in f32 or f16. One head's
// rows are adjacent so attention streams them in order.
#include <cstdint>

#include "core/tensor.h"

namespace tern::ops {

enum class KvType { f32, f16 };
const char* kv_type_name(KvType t);

class KvCache {
public:
    KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, KvType type);

    // k, v: (T, n_head_kv * head_dim) for positions [pos, pos + T).
    void store(int64_t layer, int64_t pos, int64_t T, const float* k, const float* v);
    // out: (n, head_dim) f32 = keys (or values) of positions [p0, p0 + n) of
    // one head. For an f32 cache with no conversion needed, returns a pointer
    // into the cache instead and leaves out untouched.
    const float* keys(int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const;
    const float* values(int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const;

    int64_t n_layer() const { return n_layer_; }
    int64_t n_head_kv() const { return n_head_kv_; }
    int64_t n_ctx() const { return n_ctx_; }
    int64_t head_dim() const { return head_dim_; }
    KvType type() const { return type_; }
    uint64_t bytes() const { return data_.nbytes(); }

private:
    // Element offset of (layer, kind 0=K/1=V, head, pos, 0).
    int64_t offset(int64_t layer, int kind, int64_t head, int64_t pos) const {
        return (((layer * 2 + kind) * n_head_kv_ + head) * n_ctx_ + pos) * head_dim_;
    }
    const float* rows(int kind, int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const;

    int64_t n_layer_, n_head_kv_, head_dim_, n_ctx_;
    KvType type_;
    Tensor data_;  // (n_layer, 2, n_head_kv, n_ctx, head_dim) f32 or f16
};

}  // namespace tern::ops
