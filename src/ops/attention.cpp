// ops::Attention: flash-style tiled causal attention with online softmax,
// and the naive truth.
#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/elementwise/elementwise.h"

namespace tern::ops {

Attention::Attention(int64_t n_head, int64_t n_head_kv, int64_t head_dim, float scale)
    : n_head_(n_head), n_head_kv_(n_head_kv), head_dim_(head_dim), scale_(scale) {
    if (n_head < 1 || n_head_kv < 1 || head_dim < 1)
        throw InputError("attention", format("heads %lld, kv heads %lld and head size %lld must all be positive",
                                             (long long)n_head, (long long)n_head_kv, (long long)head_dim));
    if (n_head % n_head_kv)
        throw InputError("attention", format("%lld query heads do not split into groups over %lld kv heads",
                                             (long long)n_head, (long long)n_head_kv));
    if (!std::isfinite(scale) || scale <= 0.0f)
        throw InputError("attention", format("the score scale must be finite and positive, got %g", double(scale)));
}

void Attention::check_cache(const KvCache& cache, int64_t layer) const {
    if (cache.n_head_kv() != n_head_kv_ || cache.head_dim() != head_dim_ || layer < 0 || layer >= cache.n_layer())
        throw InputError("attention", format("the KV cache holds %lld layers of %lld kv heads of size %lld; attention "
                                             "wants layer %lld of %lld kv heads of size %lld",
                                             (long long)cache.n_layer(), (long long)cache.n_head_kv(),
                                             (long long)cache.head_dim(), (long long)layer, (long long)n_head_kv_,
                                             (long long)head_dim_));
}

void Attention::run(std::span<const AttentionSeq> as, int64_t layer, ThreadPool& pool) const {
    if (as.empty()) return;
    const int64_t hd = head_dim_;
    const int64_t group = n_head_ / n_head_kv_;  // query heads per kv head
    // A unit is (sequence, kv head, query block, slice of that kv head's query
    // heads): every key/value tile is widened from the cache once and used by
    // all the slice's heads (GQA: 8 heads per kv head in TinyLlama). The group
    // is only sliced when there would otherwise be too few units for the threads.
    // (n_seq + 1) prefix sums of units, kept by the calling thread between
    // calls; bound to a plain reference because the workers must read the
    // caller's copy (a thread_local named inside the lambda is their own).
    thread_local std::vector<int64_t> callers_first_unit;
    std::vector<int64_t>& first_unit = callers_first_unit;
    first_unit.assign(as.size() + 1, 0);
    int64_t base_units = 0;
    for (const AttentionSeq& a : as) base_units += n_head_kv_ * ((a.T + kAttnQueryBlock - 1) / kAttnQueryBlock);
    const int64_t want = 2 * pool.size();
    const int64_t slices = std::clamp<int64_t>((want + base_units - 1) / std::max<int64_t>(base_units, 1), 1, group);
    const int64_t slice_heads = (group + slices - 1) / slices;
    for (size_t i = 0; i < as.size(); ++i)
        first_unit[i + 1] = first_unit[i] + n_head_kv_ * ((as[i].T + kAttnQueryBlock - 1) / kAttnQueryBlock) * slices;
    const int64_t units = first_unit.back();
    const ElementwiseKernels& ew = elementwise_kernel();
    // Units are claimed one at a time, the latest query blocks (the most causal
    // keys, the longest work) first, so the threads end within one short unit of
    // each other; contiguous runs of units in kv-head order alternated cheap and
    // dear runs (a pp512 left the caller waiting ~0.3 % of the run).
    pool.parallel_for_each_chunk(units, 1, [&](int64_t ub, int64_t ue) {
        // Per-thread scratch, O(tile) regardless of context length; thread-local so
        // decode (every layer, every token) does not allocate it per chunk.
        thread_local std::vector<float> k_buf, v_buf, q_rows, acc, m, l, s;
        thread_local std::vector<int64_t> live;
        const int64_t slots = slice_heads * kAttnQueryBlock;  // (head, row) pairs of a unit
        k_buf.resize(static_cast<size_t>(kAttnKeyTile * hd));  // (BK, hd) f16 -> f32
        v_buf.resize(static_cast<size_t>(kAttnKeyTile * hd));  // (BK, hd)
        q_rows.resize(static_cast<size_t>(slots * hd));        // the unit's query rows, slot-major
        acc.resize(static_cast<size_t>(slots * hd));           // running P·V per slot
        m.resize(static_cast<size_t>(slots));                  // running max
        l.resize(static_cast<size_t>(slots));                  // running sum
        s.resize(static_cast<size_t>(slots * (kAttnKeyTile + 1)));  // attend_block's scratch
        live.resize(static_cast<size_t>(slots));
        for (int64_t gu = ub; gu < ue; ++gu) {
            const size_t seq = static_cast<size_t>(std::upper_bound(first_unit.begin(), first_unit.end(), gu) - first_unit.begin() - 1);
            const AttentionSeq& a = as[seq];
            const int64_t u = gu - first_unit[seq];
            const int64_t n_qblocks = (a.T + kAttnQueryBlock - 1) / kAttnQueryBlock;
            const int64_t qb = n_qblocks - 1 - u / (n_head_kv_ * slices);
            const int64_t kvh = (u / slices) % n_head_kv_, sl = u % slices;
            const int64_t h0 = kvh * group + sl * slice_heads;
            const int64_t h1 = std::min(kvh * group + group, h0 + slice_heads);
            if (h0 >= h1) continue;
            const int64_t i0 = qb * kAttnQueryBlock, i1 = std::min(a.T, i0 + kAttnQueryBlock);
            const int64_t rows = i1 - i0;
            const int64_t used = (h1 - h0) * rows;  // slot = (h - h0) * rows + r
            // Gather the unit's query rows (heads of one KV head x block positions)
            // so one attend_block call scores all of them against each tile.
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t r = 0; r < rows; ++r)
                    std::copy_n(a.q + (i0 + r) * n_head_ * hd + h * hd, hd, q_rows.data() + ((h - h0) * rows + r) * hd);
            std::fill(acc.begin(), acc.begin() + used * hd, 0.0f);
            std::fill(m.begin(), m.begin() + used, -std::numeric_limits<float>::infinity());
            std::fill(l.begin(), l.begin() + used, 0.0f);
            const int64_t n_keys = a.pos0 + i1;  // the block's last row sees keys [0, pos0 + i1)
            for (int64_t j0 = 0; j0 < n_keys; j0 += kAttnKeyTile) {
                const int64_t nk = std::min(kAttnKeyTile, n_keys - j0);
                const float* K = a.cache->keys(layer, kvh, j0, nk, k_buf.data());    // (nk, hd)
                const float* V = a.cache->values(layer, kvh, j0, nk, v_buf.data());  // (nk, hd)
                for (int64_t slot = 0; slot < used; ++slot) {
                    const int64_t qpos = a.pos0 + i0 + slot % rows;
                    live[static_cast<size_t>(slot)] = std::clamp<int64_t>(qpos - j0 + 1, 0, nk);  // causal: keys <= qpos
                }
                ew.attend_block(q_rows.data(), hd, used, live.data(), K, V, nk, hd, scale_, m.data(), l.data(),
                                acc.data(), s.data());
            }
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t r = 0; r < rows; ++r) {
                    const int64_t slot = (h - h0) * rows + r;
                    float* dst = a.out + (i0 + r) * n_head_ * hd + h * hd;
                    const float inv = 1.0f / l[static_cast<size_t>(slot)];
                    const float* o = acc.data() + slot * hd;
                    for (int64_t i = 0; i < hd; ++i) dst[i] = o[i] * inv;
                }
        }
    });
}

void Attention::run_naive(std::span<const AttentionSeq> seqs, int64_t layer) const {
    for (const AttentionSeq& a : seqs) naive_one(a, layer);
}

void Attention::naive_one(const AttentionSeq& a, int64_t layer) const {
    const int64_t hd = head_dim_, group = n_head_ / n_head_kv_;
    const int64_t n_all = a.pos0 + a.T;
    std::vector<float> K(static_cast<size_t>(n_all * hd)), V(static_cast<size_t>(n_all * hd));  // (n_all, hd)
    std::vector<float> p(static_cast<size_t>(n_all));                                            // (n_all)
    for (int64_t h = 0; h < n_head_; ++h) {
        const int64_t kvh = h / group;
        const float* Kp = a.cache->keys(layer, kvh, 0, n_all, K.data());
        const float* Vp = a.cache->values(layer, kvh, 0, n_all, V.data());
        for (int64_t t = 0; t < a.T; ++t) {
            const int64_t n = a.pos0 + t + 1;
            const float* qr = a.q + t * n_head_ * hd + h * hd;
            double mx = -1e300;
            for (int64_t j = 0; j < n; ++j) {
                double d = 0;
                for (int64_t i = 0; i < hd; ++i) d += double(qr[i]) * Kp[j * hd + i];
                p[j] = static_cast<float>(d * scale_);
                mx = std::max(mx, double(p[j]));
            }
            double sum = 0;
            for (int64_t j = 0; j < n; ++j) sum += std::exp(double(p[j]) - mx);
            float* dst = a.out + t * n_head_ * hd + h * hd;
            for (int64_t i = 0; i < hd; ++i) {
                double o = 0;
                for (int64_t j = 0; j < n; ++j) o += std::exp(double(p[j]) - mx) / sum * Vp[j * hd + i];
                dst[i] = static_cast<float>(o);
            }
        }
    }
}

}  // namespace tern::ops
