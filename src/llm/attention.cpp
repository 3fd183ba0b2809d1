// Flash-style tiled causal attention with online softmax, and the naive truth.
#include "llm/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/elementwise/elementwise.h"

namespace tern::llm {

void attention_flash(const AttentionArgs& a, ThreadPool& pool) {
    const int64_t hd = a.head_dim;
    const int64_t group = a.n_head / a.n_head_kv;  // query heads per kv head
    const int64_t n_qblocks = (a.T + kAttnQueryBlock - 1) / kAttnQueryBlock;
    const int64_t units = a.n_head * n_qblocks;
    const ElementwiseKernels& ew = elementwise();
    pool.parallel_for(units, 1, [&](int64_t ub, int64_t ue) {
        // Per-thread scratch, O(tile) regardless of context length.
        std::vector<float> k_buf(static_cast<size_t>(kAttnKeyTile * hd));  // (BK, hd) f16 -> f32
        std::vector<float> v_buf(static_cast<size_t>(kAttnKeyTile * hd));  // (BK, hd)
        std::vector<float> acc(static_cast<size_t>(kAttnQueryBlock * hd)); // (BQ, hd) running P·V
        float s[kAttnKeyTile];                                             // (BK) scores of one row
        float m[kAttnQueryBlock], l[kAttnQueryBlock];                      // running max, sum
        for (int64_t u = ub; u < ue; ++u) {
            const int64_t h = u / n_qblocks, qb = u % n_qblocks;
            const int64_t kvh = h / group;
            const int64_t i0 = qb * kAttnQueryBlock, i1 = std::min(a.T, i0 + kAttnQueryBlock);
            const int64_t rows = i1 - i0;
            std::fill(acc.begin(), acc.begin() + rows * hd, 0.0f);
            std::fill(m, m + rows, -std::numeric_limits<float>::infinity());
            std::fill(l, l + rows, 0.0f);
            const int64_t n_keys = a.pos0 + i1;  // the block's last row sees keys [0, pos0 + i1)
            for (int64_t j0 = 0; j0 < n_keys; j0 += kAttnKeyTile) {
                const int64_t nk = std::min(kAttnKeyTile, n_keys - j0);
                const float* K = a.cache->keys(a.layer, kvh, j0, nk, k_buf.data());    // (nk, hd)
                const float* V = a.cache->values(a.layer, kvh, j0, nk, v_buf.data());  // (nk, hd)
                for (int64_t r = 0; r < rows; ++r) {
                    const int64_t qpos = a.pos0 + i0 + r;
                    const int64_t live = std::min(nk, qpos - j0 + 1);  // causal: keys <= qpos
                    if (live <= 0) continue;
                    const float* qr = a.q + (i0 + r) * a.n_head * hd + h * hd;  // (hd)
                    float tile_max = -std::numeric_limits<float>::infinity();
                    for (int64_t j = 0; j < live; ++j) {
                        s[j] = ew.dot(qr, K + j * hd, hd) * a.scale;
                        tile_max = std::max(tile_max, s[j]);
                    }
                    const float m_new = std::max(m[r], tile_max);
                    float* o = acc.data() + r * hd;  // (hd)
                    if (m[r] != -std::numeric_limits<float>::infinity() && m[r] != m_new) {
                        const float corr = std::exp(m[r] - m_new);  // rescale what earlier tiles summed
                        l[r] *= corr;
                        for (int64_t i = 0; i < hd; ++i) o[i] *= corr;
                    }
                    m[r] = m_new;
                    for (int64_t j = 0; j < live; ++j) {
                        const float p = std::exp(s[j] - m_new);
                        l[r] += p;
                        ew.axpy(p, V + j * hd, o, hd);
                    }
                }
            }
            for (int64_t r = 0; r < rows; ++r) {
                float* dst = a.out + (i0 + r) * a.n_head * hd + h * hd;
                const float inv = 1.0f / l[r];
                const float* o = acc.data() + r * hd;
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
