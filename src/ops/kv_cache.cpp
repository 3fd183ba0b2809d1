// KvCache storage and f16 conversion.
#include "ops/kv_cache.h"

#include <cstring>

#include "core/error.h"
#include "kernels/elementwise/elementwise.h"

namespace tern::ops {

const char* kv_type_name(KvType t) { return t == KvType::f32 ? "f32" : "f16"; }

KvCache::KvCache(int64_t n_layer, int64_t n_head_kv, int64_t head_dim, int64_t n_ctx, KvType type)
    : n_layer_(n_layer), n_head_kv_(n_head_kv), head_dim_(head_dim), n_ctx_(n_ctx), type_(type) {
    data_ = Tensor::zeros({n_layer, 2, n_head_kv, n_ctx, head_dim}, type == KvType::f32 ? DType::f32 : DType::f16);
}

void KvCache::store(int64_t layer, int64_t pos, int64_t T, const float* k, const float* v) {
    if (pos < 0 || pos + T > n_ctx_)
        throw InputError("kv cache", format("positions [%lld, %lld) exceed the context of %lld tokens", (long long)pos,
                                            (long long)(pos + T), (long long)n_ctx_));
    const int64_t row = n_head_kv_ * head_dim_;
    for (int kind = 0; kind < 2; ++kind) {
        const float* src = kind == 0 ? k : v;  // (T, n_head_kv * head_dim)
        for (int64_t t = 0; t < T; ++t)
            for (int64_t h = 0; h < n_head_kv_; ++h) {
                const float* s = src + t * row + h * head_dim_;
                const int64_t o = offset(layer, kind, h, pos + t);
                if (type_ == KvType::f32) {
                    std::memcpy(data_.data<float>() + o, s, static_cast<size_t>(head_dim_) * sizeof(float));
                } else {
                    elementwise_kernel().f32_to_f16(s, data_.data<uint16_t>() + o, head_dim_);
                }
            }
    }
}

const float* KvCache::rows(int kind, int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const {
    const int64_t o = offset(layer, kind, head, p0);
    if (type_ == KvType::f32) return data_.data<float>() + o;
    elementwise_kernel().f16_to_f32(data_.data<uint16_t>() + o, out, n * head_dim_);
    return out;
}

const float* KvCache::keys(int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const {
    return rows(0, layer, head, p0, n, out);
}
const float* KvCache::values(int64_t layer, int64_t head, int64_t p0, int64_t n, float* out) const {
    return rows(1, layer, head, p0, n, out);
}

}  // namespace tern::ops
