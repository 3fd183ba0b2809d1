// The 2:4 prefill driver (sparse24_gemm.h): activation rows packed once per
// pass, weight panels expanded and multiplied one at a time on any thread.
#include "kernels/sparse/sparse24_gemm.h"

#include <algorithm>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm_common/gemm_blocking.h"

namespace tern {

void sparse24_gemm_q8(const Sparse24S8& w, const uint8_t* xu, const float* x_scale, int64_t m, float* y,
                      Sparse24GemmScratch& scratch, ThreadPool& pool, const GemmQ8Kernel& gemm,
                      const SparseKernels& kern) {
    const char* where = "sparse24_gemm_q8";
    if (m < 1) throw InputError(where, format("%lld activation rows", static_cast<long long>(m)));
    if (!xu || !x_scale || !y) throw InputError(where, "null activations, scales or output");
    if (w.n < 1 || w.k_pad < Sparse24S8::kPad || w.k_pad % Sparse24S8::kPad != 0)
        throw InputError(where, "empty or unpadded 2:4 weights");
    const int64_t n = w.n, k = w.k_pad;  // k: a multiple of 128, so whole K quads
    gemm::Blocking bl = gemm.blocking;
    GemmQ8MicroKernel ukr = gemm.micro_kernel;
    gemm::choose_row_tile(m, gemm.short_tiles, &bl, &ukr);
    const int mr = bl.mr, nr = bl.nr;
    const size_t panel_bytes = static_cast<size_t>(k * nr);
    // Activation rows per pass: all of them while the packed rows fit 3/4 of L2 (gemm_q8's
    // rule, gemm_blocking.h), so every panel is expanded once; more rows take several passes.
    static const int64_t a_bytes_fit = cpu_features().l2_cache_bytes / 4 * 3;
    const int64_t mc_max = std::min(gemm::round_up(m, mr), std::max<int64_t>(mr, a_bytes_fit / k / mr * mr));
    if (scratch.a_pack.size() < static_cast<size_t>(mc_max * k)) scratch.a_pack.resize(static_cast<size_t>(mc_max * k));
    uint8_t* a_pack = scratch.a_pack.data();  // (mc / MR, K / 4, MR, 4)
    const int64_t panels = (n + nr - 1) / nr;
    for (int64_t ic = 0; ic < m; ic += mc_max) {
        const int64_t mc = std::min(mc_max, m - ic), row_panels = (mc + mr - 1) / mr;
        pool.parallel_for(row_panels, 1, [&](int64_t b, int64_t e) {
            gemm::pack_a<uint8_t, 4>(xu, k, false, ic + b * mr, std::min(mc, e * mr) - b * mr, 0, k, mr, a_pack + b * mr * k);
        });
        pool.parallel_for_each_chunk(panels, 1, [&](int64_t pb, int64_t pe) {
            auto* b_pack = static_cast<int8_t*>(gemm::thread_workspace(panel_bytes));  // (K / 4, NR, 4)
            for (int64_t p = pb; p < pe; ++p) {
                const int64_t jc = p * nr;
                const int cols = static_cast<int>(std::min<int64_t>(nr, n - jc));
                kern.s24_densify(w, jc, cols, nr, b_pack);
                // w8a8_matmul's dynamic-activation epilogue: a_scale 1, then · s_m below.
                const GemmQ8TileEpilogue ep{Q8Output::dequant_f32, 128,     1.0f, w.row_sum.data() + jc,
                                            w.scale.data() + jc,   nullptr, nullptr, 1.0f, 0, -128, 127};
                for (int64_t ir = 0; ir < mc; ir += mr) {
                    const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
                    float* c = y + (ic + ir) * n + jc;
                    ukr(k, a_pack + ir * k, b_pack, c, n, rows, cols, ep);
                    for (int i = 0; i < rows; ++i) {
                        const float s = x_scale[ic + ir + i];
                        for (int j = 0; j < cols; ++j) c[i * n + j] *= s;
                    }
                }
            }
        });
    }
}

}  // namespace tern
