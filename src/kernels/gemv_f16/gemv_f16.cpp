// gemv_f16 kernel table, dispatch, the panel repack and the threaded drivers.
#include "kernels/gemv_f16/gemv_f16.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/gemm_common/gemm_blocking.h"
#include "kernels/gemm_f32/gemm_f32.h"
#include "kernels/kernel_table.h"

namespace tern {
namespace {

constexpr int64_t kAllRows = int64_t{1} << 40;

// Best first; NR of each row = NR of gemm_f32's first kernel of that ISA.
// gemv_max_rows from bench_gemv_f16's gemm/ rows at K 2048, N 5632, 1 thread,
// interleaved repetitions (Zen 5, loaded, 2026-11-22): AVX-512 GEMV 1.8x / 1.2x /
// 1.1x gemm_f32 at M = 16 / 128 / 512; AVX2 GEMV 2x at M = 8 but 0.75x the
// converting GEMM at M = 16; the scalar GEMV widens with integer code per row group.
constexpr GemvF16Kernel kTable[] = {
    {"gemv_f16_32col_avx512", Isa::avx512, 32, kAllRows, gemv_f16_32col_avx512, f16_to_f32_avx512,
     f16_to_bf16_pairs_32col_avx512},
    {"gemv_f16_16col_avx2", Isa::avx2, 16, 8, gemv_f16_16col_avx2, f16_to_f32_avx2,
     f16_to_bf16_pairs_16col_avx2},
    {"gemv_f16_8col_scalar", Isa::scalar, 8, kGemvF16PassRows, gemv_f16_8col_scalar, f16_to_f32_scalar,
     f16_to_bf16_pairs_8col_scalar},
};

// Panels `[p0, p1)` of the repack: for each k block of 64 the NR source rows are
// read in contiguous 128-byte runs and written k-major into an L1-sized tile.
void pack_panels(const uint16_t* w, int64_t ldw, int64_t n, int64_t k, int nr, int64_t p0, int64_t p1, uint16_t* dst) {
    constexpr int64_t kBlock = 64;
    for (int64_t p = p0; p < p1; ++p) {
        uint16_t* out = dst + p * k * nr;  // (k, nr)
        const int live = static_cast<int>(std::min<int64_t>(nr, n - p * nr));
        if (live < nr) std::memset(out, 0, sizeof(uint16_t) * static_cast<size_t>(k * nr));
        for (int64_t k0 = 0; k0 < k; k0 += kBlock) {
            const int64_t kb = std::min(kBlock, k - k0);
            for (int c = 0; c < live; ++c) {
                const uint16_t* src = w + (p * nr + c) * ldw + k0;
                for (int64_t kk = 0; kk < kb; ++kk) out[(k0 + kk) * nr + c] = src[kk];
            }
        }
    }
}

}  // namespace

std::span<const GemvF16Kernel> gemv_f16_kernels() { return kTable; }

std::vector<const GemvF16Kernel*> gemv_f16_variants() {
    auto v = supported_kernels_of<GemvF16Kernel>(kTable);
    std::reverse(v.begin(), v.end());  // scalar first, like the other families' variant lists
    return v;
}

const GemvF16Kernel& gemv_f16_kernel() {
    static const GemvF16Kernel* chosen = choose_kernel_of<GemvF16Kernel>(kTable);
    return *chosen;
}

const GemmF32Kernel& gemv_f16_gemm_partner(const GemvF16Kernel& kernel) {
    for (const GemmF32Kernel& g : gemm_f32_kernels())
        if (g.isa == kernel.isa && g.blocking.nr == kernel.nr) return g;
    // The table above is written against gemm_f32's; a mismatch is a build bug.
    throw Error("gemv_f16", std::string("no gemm_f32 kernel with the ISA and NR of ") + kernel.name);
}

GemvF16Weights::GemvF16Weights(const GemvF16Kernel& kernel, const uint16_t* w, int64_t ldw, int64_t n, int64_t k,
                               ThreadPool* pool)
    : kernel_(&kernel), n_(n), k_(k) {
    if (n < 0 || k < 0 || (n > 0 && k > 0 && (!w || ldw < k)))
        throw InputError("gemv_f16", format("bad weights: n %lld, k %lld, ldw %lld", (long long)n, (long long)k, (long long)ldw));
    panels_ = (n + kernel.nr - 1) / kernel.nr;
    data_ = static_cast<uint16_t*>(aligned_alloc_bytes(static_cast<size_t>(bytes()), 64));
    if (k == 0) return;
    const auto body = [&](int64_t p0, int64_t p1) { pack_panels(w, ldw, n, k, kernel.nr, p0, p1, data_); };
    if (pool)
        pool->parallel_for(panels_, 4, body);
    else
        body(0, panels_);
}

GemvF16Weights::~GemvF16Weights() { aligned_free_bytes(data_); }

void gemv_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
              ThreadPool& pool) {
    if (m <= 0 || w.n() == 0) return;
    const GemvF16Kernel& kern = w.kernel();
    const int64_t groups = (m + kGemvF16PassRows - 1) / kGemvF16PassRows;
    const auto group = [&](int64_t i) {  // rows [4i, 4i + 4) of x and y
        const int64_t r0 = i * kGemvF16PassRows;
        GemvF16Params p;
        p.w = w.data();
        p.n = w.n();
        p.k = w.k();
        p.x = x + r0 * w.k();
        p.ldx = w.k();
        p.m = static_cast<int>(std::min<int64_t>(kGemvF16PassRows, m - r0));
        p.y = y + r0 * w.n();
        p.ldy = w.n();
        p.bias = bias;
        p.act = act;
        return p;
    };
    // Guided chunks (long first, short last, as quant_matmul's decode) of at least
    // ~64 KiB of weights each, so a claim stays small against the ~2 us that many
    // bytes take from DRAM.
    const int64_t panel_bytes = std::max<int64_t>(1, w.k() * w.nr() * 2);
    const int64_t grain = std::max<int64_t>(1, (int64_t{64} << 10) / panel_bytes);
    pool.parallel_for_guided(w.panels(), grain, [&](int64_t p0, int64_t p1) {
        if (groups == 1) return kern.gemv(group(0), p0, p1);
        // Panel by panel, every row group: the panel comes from DRAM for the
        // first group and from L2 (K x NR x 2 bytes, 352 KiB at K = 5632) after.
        for (int64_t p = p0; p < p1; ++p)
            for (int64_t i = 0; i < groups; ++i) kern.gemv(group(i), p, p + 1);
    });
}

// gemm_f32's loop nest (gemm::run_blocked) with B read from the f16 panels: the
// (KC, NR) slice of a panel is converted into an L1 buffer right before the MR-row
// tiles of one MC block use it. Re-converting per MC block costs 1 conversion
// per 2*MC flops (< 5 % at MC = 144), and f16 B streams half the bytes.
void gemm_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
              ThreadPool& pool) {
    if (m <= 0 || w.n() == 0) return;
    const GemvF16Kernel& kern = w.kernel();
    const GemmF32Kernel& gk = gemv_f16_gemm_partner(kern);
    const gemm::Blocking& bl = gk.blocking;  // bl.nr == w.nr(), bl.kg == 1
    const int64_t n = w.n(), k = w.k();
    gemm::run_parallel(pool, m, n, k, bl.mr, bl.nr, [&](const gemm::Rect& r) {
        const int64_t m_rows = r.i1 - r.i0;
        if (m_rows <= 0 || r.j1 <= r.j0) return;
        const int64_t kc_max = std::min<int64_t>(bl.kc, std::max<int64_t>(k, 1));
        const int64_t mc_max = std::min<int64_t>(bl.mc, gemm::round_up(m_rows, bl.mr));
        const size_t a_bytes = static_cast<size_t>(gemm::round_up(mc_max * kc_max * 4, 64));
        auto* ws = static_cast<uint8_t*>(gemm::thread_workspace(a_bytes + static_cast<size_t>(kc_max * bl.nr * 4)));
        float* a_pack = reinterpret_cast<float*>(ws);            // (MC, KC) in MR-row panels
        float* b_panel = reinterpret_cast<float*>(ws + a_bytes);  // (KC, NR) f32
        const int64_t k_steps = std::max<int64_t>(k, 1);          // k == 0 still runs the epilogue
        for (int64_t jc = r.j0; jc < r.j1; jc += bl.nc) {
            const int64_t nc = std::min<int64_t>(bl.nc, r.j1 - jc);
            for (int64_t pc = 0; pc < k_steps; pc += bl.kc) {
                const int64_t kc = std::min<int64_t>(bl.kc, k - pc);
                const bool first = pc == 0, last = pc + bl.kc >= k_steps;
                for (int64_t ic = r.i0; ic < r.i1; ic += bl.mc) {
                    const int64_t mc = std::min<int64_t>(bl.mc, r.i1 - ic);
                    gemm::pack_a<float, 1>(x, k, false, ic, mc, pc, kc, bl.mr, a_pack);
                    for (int64_t jr = 0; jr < nc; jr += bl.nr) {
                        const int64_t j = jc + jr;
                        const int cols = static_cast<int>(std::min<int64_t>(bl.nr, nc - jr));
                        kern.to_f32(w.panel(j / bl.nr) + pc * bl.nr, kc * bl.nr, b_panel);
                        const GemmF32TileEpilogue ep{1.0f, first ? 0.0f : 1.0f, last && bias ? bias + j : nullptr,
                                                     last ? act : Activation::none};
                        for (int64_t ir = 0; ir < mc; ir += bl.mr) {
                            const int rows = static_cast<int>(std::min<int64_t>(bl.mr, mc - ir));
                            gk.micro_kernel(kc, a_pack + ir * kc, b_panel, y + (ic + ir) * n + j, n, rows, cols, ep);
                        }
                    }
                }
            }
        }
    });
}

void matmul_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
                ThreadPool& pool) {
    if (m <= w.kernel().gemv_max_rows)
        gemv_f16(w, x, m, y, bias, act, pool);
    else
        gemm_f16(w, x, m, y, bias, act, pool);
}

}  // namespace tern
