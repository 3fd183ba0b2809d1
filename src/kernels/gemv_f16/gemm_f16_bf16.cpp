// gemm_f16_bf16: the opt-in bf16 prefill on f16 panels (see gemv_f16.h).
// gemm_bf16's loop nest and micro-kernels; each (KC, NC) block of B is rounded
// from the f16 panels into gemm_bf16's pair layout when the loop reaches it, so
// W stays in f16 (one copy, the decode GEMV's) and the rounding is paid once per
// block for all of the thread's rows.
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm_bf16/gemm_bf16.h"
#include "kernels/gemm_common/gemm_blocking.h"
#include "kernels/gemv_f16/gemv_f16.h"

namespace tern {

const GemmBf16Kernel& gemv_f16_bf16_partner(const GemvF16Kernel& kernel) {
    for (const GemmBf16Kernel& g : gemm_bf16_table())
        if (g.isa == kernel.isa && g.blocking.nr == kernel.nr) return g;
    // The tables are written against each other; a mismatch is a build bug.
    throw Error("gemv_f16", std::string("no gemm_bf16 kernel with the ISA and NR of ") + kernel.name);
}

void gemm_f16_bf16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
                   ThreadPool& pool) {
    if (m <= 0 || w.n() == 0) return;
    const int64_t k = w.k();
    thread_local std::vector<uint16_t> x_round;  // (m, k) bf16
    x_round.resize(static_cast<size_t>(m * k));
    const uint16_t* x_bf16 = x_round.data();
    round_to_bf16(x, m * k, x_round.data(), pool);
    const GemvF16Kernel& kern = w.kernel();
    const GemmBf16Kernel& bk = gemv_f16_bf16_partner(kern);
    gemm::Blocking bl = bk.blocking;
    GemmBf16MicroKernel ukr = bk.micro_kernel;
    gemm::choose_row_tile(m, bk.short_tiles, &bl, &ukr);
    const int64_t n = w.n();
    gemm::run_parallel(pool, m, n, k, bl.mr, bl.nr, /*b_packed_per_thread=*/true, [&](const gemm::Rect& r) {
        gemm::run_blocked_with<uint16_t, uint16_t, 2>(
            bl, r, k, x_bf16, k, /*trans_a=*/false, /*b_workspace=*/true,
            [&](int64_t jc, int64_t nc, int64_t pc, int64_t kc, uint16_t* block) -> const uint16_t* {
                const int64_t kcp = gemm::round_up(kc, 2);
                for (int64_t jb = 0; jb < nc; jb += bl.nr)
                    kern.to_bf16_pairs(w.panel((jc + jb) / bl.nr) + pc * bl.nr, kc, block + jb * kcp);
                return block;
            },
            [&](int64_t kcp, const uint16_t* ap, const uint16_t* bp, int64_t i, int64_t j, int rows, int cols,
                bool first, bool last) {
                const GemmF32TileEpilogue ep{1.0f, first ? 0.0f : 1.0f, last && bias ? bias + j : nullptr,
                                             last ? act : Activation::none};
                ukr(kcp, ap, bp, y + i * n + j, n, rows, cols, ep);
            });
    });
}

}  // namespace tern
