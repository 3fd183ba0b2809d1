// Dispatch, scratch and the threaded driver. Threads split the column tiles:
// every thread streams its own slice of the weights once (GEMV) or reuses it
// across all activation rows (GEMM).
#include "kernels/quant_matmul/quant_matmul.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/kernel_table.h"

namespace tern {

std::span<const QuantMatmulKernels* const> quant_matmul_variants() {
    static const std::vector<const QuantMatmulKernels*> variants =
        isa_variants(kQuantMatmulScalar, kQuantMatmulAvx2, kQuantMatmulAvx512);
    return variants;
}

const QuantMatmulKernels& quant_matmul_kernel() {
    static const QuantMatmulKernels& chosen =
        active_isa_variant(kQuantMatmulScalar, kQuantMatmulAvx2, kQuantMatmulAvx512);
    return chosen;
}

QuantActs QuantScratch::acts(int64_t m, int64_t k, int block) {
    const auto need = [](auto& v, int64_t n) {
        if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
        return v.data();
    };
    QuantActs a;
    a.m = m;
    a.k = k;
    a.block = block;
    a.q = need(q_, m * k + 64);
    a.qu = need(qu_, m * k + 64);
    a.d = need(d_, m * (k / 32));
    a.sum32 = need(s32_, m * (k / 32));
    a.dsum32 = need(ds32_, m * (k / 32));
    a.sum16 = need(s16_, m * (k / 16));
    return a;
}

float* QuantScratch::xsum16(int64_t m, int64_t k) {
    if (static_cast<int64_t>(xs_.size()) < m * (k / 16)) xs_.resize(static_cast<size_t>(m * (k / 16)));
    return xs_.data();
}

void quant_matmul(const QuantMatrix& w, const float* x, int64_t m, float* y, ActMode mode, QuantScratch& scratch,
                  ThreadPool& pool, const QuantMatmulKernels& kern) {
    const QuantMatrix* ws[] = {&w};
    float* ys[] = {y};
    quant_matmul_many(ws, x, m, ys, mode, scratch, pool, kern);
}

// Weight bytes per prefill chunk (see quant_matmul_many): a chunk stays in L2
// across the activation row blocks; 128 KiB measured best of 64-256
// (bench/RESULTS_llm.md).
constexpr int64_t kPrefillChunkBytes = int64_t{128} << 10;

void quant_matmul_many(std::span<const QuantMatrix* const> ws, const float* x, int64_t m, std::span<float* const> ys,
                       ActMode mode, QuantScratch& scratch, ThreadPool& pool, const QuantMatmulKernels& kern) {
    if (m <= 0 || ws.empty()) return;
    if (ys.size() != ws.size()) throw Error("quant_matmul", "one output per weight matrix is required");
    const int64_t k = ws[0]->k;
    const bool k_quant = is_k_quant(ws[0]->type);
    // Tile t of the concatenation belongs to matrix i at local tile t - first[i].
    // A fixed array: this runs for every matmul of every decoded token.
    if (ws.size() > kMaxMatricesTogether) throw Error("quant_matmul", "too many matrices in one call");
    std::array<int64_t, kMaxMatricesTogether + 1> first{};
    for (size_t i = 0; i < ws.size(); ++i) {
        if (ws[i]->k != k || is_k_quant(ws[i]->type) != k_quant)
            throw Error("quant_matmul", "matrices run together need the same k and activation block size");
        first[i + 1] = first[i] + ws[i]->tiles;
    }
    const int64_t tiles = first[ws.size()];
    auto for_tiles = [&](int64_t t0, int64_t t1, auto&& run_one) {
        for (size_t i = 0; i < ws.size() && t0 < t1; ++i) {
            const int64_t lo = std::max(t0, first[i]), hi = std::min(t1, first[i + 1]);
            if (lo < hi) run_one(*ws[i], ys[i], lo - first[i], hi - first[i]);
        }
    };
    // Few tiles per thread starve nobody; fewer than ~4 would unbalance the split.
    const int64_t grain = std::max<int64_t>(1, std::min<int64_t>(8, tiles / (4 * pool.size()) + 1));
    if (mode == ActMode::int8) {
        QuantActs a = scratch.acts(m, k, k_quant ? 256 : 32);
        pool.parallel_for(m, 1, [&](int64_t r0, int64_t r1) {
            QuantActs part = a;
            part.m = r1 - r0;
            part.q += r0 * a.k;
            part.qu += r0 * a.k;
            part.d += r0 * (a.k / a.block);
            part.sum32 += r0 * (a.k / 32);
            part.dsum32 += r0 * (a.k / 32);
            part.sum16 += r0 * (a.k / 16);
            kern.quantize_acts(x + r0 * a.k, part);
        });
        auto body = [&](int64_t t0, int64_t t1) {
            for_tiles(t0, t1, [&](const QuantMatrix& w, float* y, int64_t b, int64_t e) { kern.matmul_q8(w, a, y, b, e); });
        };
        // Decode: guided chunks, so the threads reach the barrier within a tile of each
        // other. Fixed chunks left one thread idle for up to a chunk at the end of
        // every matmul (bench/RESULTS_llm.md).
        // Prefill: chunks of ~128 KB of weights (an even number of tiles, so the
        // two-tile micro-kernels stay paired) claimed one at a time. Each chunk's
        // tiles stay in L2 across the row blocks of the activations, and a thread
        // that falls behind hands its remaining chunks over. (8 fixed chunks of
        // ~20 tiles re-read ~700 KB per 64-row block from L3 and left the caller
        // spinning at the barrier for ~3-5 % of a 2-thread pp512 on the Zen 3 VM.)
        if (m == 1) {
            pool.parallel_for_guided(tiles, 1, body);
        } else {
            const int64_t tile_bytes = std::max<int64_t>(1, ws[0]->tile_bytes);
            const int64_t chunk_tiles = std::max<int64_t>(2, kPrefillChunkBytes / tile_bytes / 2 * 2);
            pool.parallel_for_each_chunk(tiles, chunk_tiles, body);
        }
    } else {
        float* xs = scratch.xsum16(m, k);
        for (int64_t i = 0; i < m * (k / 16); ++i) {
            float s = 0;
            for (int j = 0; j < 16; ++j) s += x[i * 16 + j];
            xs[i] = s;
        }
        pool.parallel_for(tiles, grain, [&](int64_t t0, int64_t t1) {
            for_tiles(t0, t1, [&](const QuantMatrix& w, float* y, int64_t b, int64_t e) { kern.matmul_f32(w, x, xs, m, y, b, e); });
        });
    }
}

}  // namespace tern
