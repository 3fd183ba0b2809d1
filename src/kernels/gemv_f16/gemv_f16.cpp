// gemv_f16 kernel table, dispatch, the panel repack and the threaded drivers.
#include "kernels/gemv_f16/gemv_f16.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

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
constexpr GemvF16Kernel kGemvF16Table[] = {
    {.name = "gemv_f16_32col_avx512",
     .isa = Isa::avx512,
     .nr = 32,
     .gemv_max_rows = kAllRows,
     .gemv = gemv_f16_32col_avx512,
     .to_f32 = f16_to_f32_avx512,
     .to_bf16_pairs = f16_to_bf16_pairs_32col_avx512},
    {.name = "gemv_f16_16col_avx2",
     .isa = Isa::avx2,
     .nr = 16,
     .gemv_max_rows = 8,
     .gemv = gemv_f16_16col_avx2,
     .to_f32 = f16_to_f32_avx2,
     .to_bf16_pairs = f16_to_bf16_pairs_16col_avx2},
    {.name = "gemv_f16_8col_scalar",
     .isa = Isa::scalar,
     .nr = 8,
     .gemv_max_rows = kGemvF16PassRows,
     .gemv = gemv_f16_8col_scalar,
     .to_f32 = f16_to_f32_scalar,
     .to_bf16_pairs = f16_to_bf16_pairs_8col_scalar},
};

// Transposes 8 rows x 8 halves (a[i] = row i) into 8 k steps x 8 rows.
void transpose_8x8_u16(__m128i (&a)[8]) {
    __m128i t[8], u[8];
    for (int i = 0; i < 4; ++i) {
        t[2 * i] = _mm_unpacklo_epi16(a[2 * i], a[2 * i + 1]);
        t[2 * i + 1] = _mm_unpackhi_epi16(a[2 * i], a[2 * i + 1]);
    }
    for (int h = 0; h < 2; ++h)  // rows 0-3, then 4-7
        for (int j = 0; j < 2; ++j) {
            u[4 * h + 2 * j] = _mm_unpacklo_epi32(t[4 * h + j], t[4 * h + j + 2]);
            u[4 * h + 2 * j + 1] = _mm_unpackhi_epi32(t[4 * h + j], t[4 * h + j + 2]);
        }
    for (int c = 0; c < 4; ++c) {
        a[2 * c] = _mm_unpacklo_epi64(u[c], u[c + 4]);
        a[2 * c + 1] = _mm_unpackhi_epi64(u[c], u[c + 4]);
    }
}

// Panels `[p0, p1)` of the repack, each (k, nr) k-major. Whole panels go 8 rows
// x 8 k at a time through an SSE2 transpose (baseline x86-64); the per-element
// loop that remains for a ragged last panel and a k tail took ~3 s of a
// TinyLlama f16 load on its own (46 % of the load's samples on the Zen 3 VM).
void pack_panels(const uint16_t* w, int64_t ldw, int64_t n, int64_t k, int nr, int64_t p0, int64_t p1, uint16_t* dst) {
    for (int64_t p = p0; p < p1; ++p) {
        uint16_t* out = dst + p * k * nr;  // (k, nr)
        const int live = static_cast<int>(std::min<int64_t>(nr, n - p * nr));
        if (live < nr) std::memset(out, 0, sizeof(uint16_t) * static_cast<size_t>(k * nr));
        int64_t k_done = 0;
        if (live == nr && nr % 8 == 0) {
            for (; k_done + 8 <= k; k_done += 8)
                for (int g = 0; g < nr; g += 8) {
                    __m128i a[8];
                    for (int i = 0; i < 8; ++i)
                        a[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + (p * nr + g + i) * ldw + k_done));
                    transpose_8x8_u16(a);
                    for (int i = 0; i < 8; ++i)
                        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (k_done + i) * nr + g), a[i]);
                }
        }
        for (int c = 0; c < live; ++c) {
            const uint16_t* src = w + (p * nr + c) * ldw;
            for (int64_t kk = k_done; kk < k; ++kk) out[kk * nr + c] = src[kk];
        }
    }
}

}  // namespace

std::span<const GemvF16Kernel> gemv_f16_table() { return kGemvF16Table; }

std::span<const GemvF16Kernel* const> gemv_f16_variants() {
    static const std::vector<const GemvF16Kernel*> variants = supported_kernels_of<GemvF16Kernel>(kGemvF16Table);
    return variants;
}

const GemvF16Kernel& gemv_f16_kernel() {
    static const GemvF16Kernel* chosen = choose_kernel_of<GemvF16Kernel>(kGemvF16Table);
    return *chosen;
}

const GemmF32Kernel& gemv_f16_gemm_partner(const GemvF16Kernel& kernel) {
    for (const GemmF32Kernel& g : gemm_f32_table())
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

// gemm_f32's micro-kernel with B read from the f16 panels: the (KC, NR) slice of a
// panel is converted into an L1 buffer right before the MR-row tiles of one row
// block use it (1 conversion per 2 * rows-per-block flops, < 5 % at ~170 rows),
// and f16 B streams half the bytes.
//
// Threads claim chunks of C — a row block of at most MC rows by a strip of whole
// NR panels — one at a time instead of taking a fixed half each: on a shared
// 2-vCPU VM a fixed split left the caller spinning at the barrier for ~5 % of an
// f16 pp512 (the other vCPU descheduled or slower for a while), and every thread
// converted all of B once per row block of its half. A is packed once per pass
// (up to kMaxPackedAFloats) into a buffer all threads read, so a chunk only
// converts its strip's B slices and runs tiles.
void gemm_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
              ThreadPool& pool) {
    if (m <= 0 || w.n() == 0) return;
    const GemvF16Kernel& kern = w.kernel();
    const GemmF32Kernel& gk = gemv_f16_gemm_partner(kern);
    const gemm::Blocking& bl = gk.blocking;  // bl.nr == w.nr(), bl.kg == 1
    const int64_t n = w.n(), k = w.k(), mr = bl.mr, nr = bl.nr;
    const int64_t k_steps = std::max<int64_t>(k, 1);  // k == 0 still runs the epilogue
    const int64_t kc_max = std::min<int64_t>(bl.kc, k_steps);
    const int threads = m * n * k_steps < gemm::kMinParallelMacs ? 1 : pool.size();
    constexpr int64_t kMaxPackedAFloats = int64_t{4} << 20;  // 16 MiB: 512 rows at K = 8192
    const int64_t pass_rows = std::max(mr, kMaxPackedAFloats / k_steps / mr * mr);
    const int64_t panels = (n + nr - 1) / nr;
    thread_local std::vector<float> a_packed;  // the caller's; workers only read it

    for (int64_t r0 = 0; r0 < m; r0 += pass_rows) {
        const int64_t rows = std::min(pass_rows, m - r0);
        const int64_t rows_pad = gemm::round_up(rows, mr);
        // Block b of K (depth pc = b * KC) at a_packed + pc * rows_pad, MR-row panels
        // inside it, so rows [i, i + MR) of that block start at + i * kc.
        a_packed.resize(static_cast<size_t>(std::max<int64_t>(rows_pad * std::max<int64_t>(k, 1), 1)));
        float* ap = a_packed.data();
        const int64_t row_panels = rows_pad / mr;
        const auto pack = [&](int64_t q0, int64_t q1) {
            const int64_t i0 = q0 * mr, n_rows = std::min(q1 * mr, rows) - i0;
            for (int64_t pc = 0; pc < k; pc += bl.kc) {
                const int64_t kc = std::min<int64_t>(bl.kc, k - pc);
                gemm::pack_a<float, 1>(x + r0 * k, k, false, i0, n_rows, pc, kc, bl.mr, ap + pc * rows_pad + i0 * kc);
            }
        };
        if (threads > 1)
            pool.parallel_for(row_panels, 8, pack);
        else
            pack(0, row_panels);

        // Row blocks of near-equal size (512 rows: 174 + 174 + 164, not 192 + 192 +
        // 128); strips narrow enough for ~16 chunks per thread, at most NC wide.
        const int64_t row_blocks = (rows + bl.mc - 1) / bl.mc;
        const int64_t block_rows = gemm::round_up((rows + row_blocks - 1) / row_blocks, mr);
        const int64_t want_chunks = int64_t{16} * threads;
        const int64_t strip_panels =
            std::clamp<int64_t>((panels * row_blocks + want_chunks - 1) / want_chunks, 1, std::max<int64_t>(1, bl.nc / nr));
        const int64_t strips = (panels + strip_panels - 1) / strip_panels;
        const int64_t chunks = strips * row_blocks;
        const auto run_chunk = [&](int64_t c, float* b_panel) {
            const int64_t i0 = (c % row_blocks) * block_rows, i1 = std::min(rows, i0 + block_rows);
            const int64_t p0 = (c / row_blocks) * strip_panels, p1 = std::min(panels, p0 + strip_panels);
            for (int64_t pc = 0; pc < k_steps; pc += bl.kc) {
                const int64_t kc = std::min<int64_t>(bl.kc, k - pc);  // 0 when k == 0
                const bool first = pc == 0, last = pc + bl.kc >= k_steps;
                const float* a_block = ap + pc * rows_pad;
                for (int64_t p = p0; p < p1; ++p) {
                    const int64_t j = p * nr;
                    const int cols = static_cast<int>(std::min<int64_t>(nr, n - j));
                    kern.to_f32(w.panel(p) + pc * nr, kc * nr, b_panel);
                    const GemmF32TileEpilogue ep{1.0f, first ? 0.0f : 1.0f, last && bias ? bias + j : nullptr,
                                                 last ? act : Activation::none};
                    for (int64_t i = i0; i < i1; i += mr) {
                        const int tile_rows = static_cast<int>(std::min<int64_t>(mr, i1 - i));
                        gk.micro_kernel(kc, a_block + i * kc, b_panel, y + (r0 + i) * n + j, n, tile_rows, cols, ep);
                    }
                }
            }
        };
        const auto run_chunks = [&](int64_t c0, int64_t c1) {
            auto* b_panel = static_cast<float*>(gemm::thread_workspace(static_cast<size_t>(kc_max * nr) * sizeof(float)));
            for (int64_t c = c0; c < c1; ++c) run_chunk(c, b_panel);
        };
        if (threads > 1)
            pool.parallel_for_each_chunk(chunks, 1, run_chunks);
        else
            run_chunks(0, chunks);
    }
}

void matmul_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
                ThreadPool& pool) {
    if (m <= w.kernel().gemv_max_rows)
        gemv_f16(w, x, m, y, bias, act, pool);
    else
        gemm_f16(w, x, m, y, bias, act, pool);
}

}  // namespace tern
