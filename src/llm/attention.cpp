// Flash-style tiled causal attention with online softmax, and the naive truth.
#include "llm/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/elementwise/elementwise.h"

namespace tern::llm {

void attention_flash(const AttentionArgs& a, ThreadPool& pool) { attention_flash_many(std::span(&a, 1), pool); }

void attention_flash_many(std::span<const AttentionArgs> as, ThreadPool& pool) {
    if (as.empty()) return;
    const AttentionArgs& a0 = as[0];  // head shapes, scale and layer are the same for every sequence
    const int64_t hd = a0.head_dim;
    const int64_t group = a0.n_head / a0.n_head_kv;  // query heads per kv head
    // A unit is (sequence, kv head, query block, slice of that kv head's query
    // heads): every key/value tile is widened from the cache once and used by
    // all the slice's heads (GQA: 8 heads per kv head in TinyLlama). The group
    // is only sliced when there would otherwise be too few units for the threads.
    std::vector<int64_t> first_unit(as.size() + 1, 0);  // (n_seq + 1) prefix sums of units
    int64_t base_units = 0;
    for (const AttentionArgs& a : as) base_units += a.n_head_kv * ((a.T + kAttnQueryBlock - 1) / kAttnQueryBlock);
    const int64_t want = 2 * pool.size();
    const int64_t slices = std::clamp<int64_t>((want + base_units - 1) / std::max<int64_t>(base_units, 1), 1, group);
    const int64_t slice_heads = (group + slices - 1) / slices;
    for (size_t i = 0; i < as.size(); ++i)
        first_unit[i + 1] = first_unit[i] + as[i].n_head_kv * ((as[i].T + kAttnQueryBlock - 1) / kAttnQueryBlock) * slices;
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
            const AttentionArgs& a = as[seq];
            const int64_t u = gu - first_unit[seq];
            const int64_t n_qblocks = (a.T + kAttnQueryBlock - 1) / kAttnQueryBlock;
            const int64_t qb = n_qblocks - 1 - u / (a.n_head_kv * slices);
            const int64_t kvh = (u / slices) % a.n_head_kv, sl = u % slices;
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
                    std::copy_n(a.q + (i0 + r) * a.n_head * hd + h * hd, hd, q_rows.data() + ((h - h0) * rows + r) * hd);
            std::fill(acc.begin(), acc.begin() + used * hd, 0.0f);
            std::fill(m.begin(), m.begin() + used, -std::numeric_limits<float>::infinity());
            std::fill(l.begin(), l.begin() + used, 0.0f);
            const int64_t n_keys = a.pos0 + i1;  // the block's last row sees keys [0, pos0 + i1)
            for (int64_t j0 = 0; j0 < n_keys; j0 += kAttnKeyTile) {
                const int64_t nk = std::min(kAttnKeyTile, n_keys - j0);
                const float* K = a.cache->keys(a.layer, kvh, j0, nk, k_buf.data());    // (nk, hd)
                const float* V = a.cache->values(a.layer, kvh, j0, nk, v_buf.data());  // (nk, hd)
                for (int64_t slot = 0; slot < used; ++slot) {
                    const int64_t qpos = a.pos0 + i0 + slot % rows;
                    live[static_cast<size_t>(slot)] = std::clamp<int64_t>(qpos - j0 + 1, 0, nk);  // causal: keys <= qpos
                }
                ew.attend_block(q_rows.data(), hd, used, live.data(), K, V, nk, hd, a.scale, m.data(), l.data(),
                                acc.data(), s.data());
            }
            for (int64_t h = h0; h < h1; ++h)
                for (int64_t r = 0; r < rows; ++r) {
                    const int64_t slot = (h - h0) * rows + r;
                    float* dst = a.out + (i0 + r) * a.n_head * hd + h * hd;
                    const float inv = 1.0f / l[static_cast<size_t>(slot)];
                    const float* o = acc.data() + slot * hd;
                    for (int64_t i = 0; i < hd; ++i) dst[i] = o[i] * inv;
                }
        }
    });
}

void attention_naive(const AttentionArgs& a) {
    const int64_t hd = a.head_dim, group = a.n_head / a.n_head_kv;
    const int64_t n_all = a.pos0 + a.T;
    std::vector<float> K(static_cast<size_t>(n_all * hd)), V(static_cast<size_t>(n_all * hd));  // (n_all, hd)
    std::vector<float> p(static_cast<size_t>(n_all));                                            // (n_all)
    for (int64_t h = 0; h < a.n_head; ++h) {
        const int64_t kvh = h / group;
        const float* Kp = a.cache->keys(a.layer, kvh, 0, n_all, K.data());
        const float* Vp = a.cache->values(a.layer, kvh, 0, n_all, V.data());
        for (int64_t t = 0; t < a.T; ++t) {
            const int64_t n = a.pos0 + t + 1;
            const float* qr = a.q + t * a.n_head * hd + h * hd;
            double mx = -1e300;
            for (int64_t j = 0; j < n; ++j) {
                double d = 0;
                for (int64_t i = 0; i < hd; ++i) d += double(qr[i]) * Kp[j * hd + i];
                p[j] = static_cast<float>(d * a.scale);
                mx = std::max(mx, double(p[j]));
            }
            double sum = 0;
            for (int64_t j = 0; j < n; ++j) sum += std::exp(double(p[j]) - mx);
            float* dst = a.out + t * a.n_head * hd + h * hd;
            for (int64_t i = 0; i < hd; ++i) {
                double o = 0;
                for (int64_t j = 0; j < n; ++j) o += std::exp(double(p[j]) - mx) / sum * Vp[j * hd + i];
                dst[i] = static_cast<float>(o);
            }
        }
    }
}

}  // namespace tern::llm
