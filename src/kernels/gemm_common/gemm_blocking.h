#pragma once
// Shared machinery of the packed GEMM families (f32, bf16, q8): Goto/BLIS-style
// blocking, panel packing, the per-thread packing workspace and the split of
// the output between threads. Each family supplies micro-kernels and an
// epilogue; this header supplies the loops around them.
//
// Packed layouts (KG = elements of K a micro-kernel consumes per lane step:
// 1 for f32 FMA, 2 for bf16 vdpbf16ps pairs, 4 for int8 vpdpbusd quads):
//   A block: (ceil(MC/MR), KCp/KG, MR, KG)  -- MR-row panels, KCp = KC rounded to KG
//   B block: (ceil(NC/NR), KCp/KG, NR, KG)  -- NR-column panels
// Every panel is zero-padded to full MR/NR and KCp, so micro-kernels never
// branch on edges while accumulating; only their stores are masked.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/pack/pack.h"

namespace tern::gemm {

struct Blocking {
    int mr, nr;  // micro-tile (register block)
    int kg;      // K group per lane step (1, 2 or 4)
    int mc, kc, nc;  // cache blocks: mc % mr == 0, kc % kg == 0, nc % nr == 0
};

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// A micro-kernel for short M: the family's NR, KG and packed-B layout, fewer
// rows, so M = 16 is not padded to 24 rows and M = 1 not to 12.
template <class MicroKernel>
struct ShortTile {
    int mr = 0;  // 0: unused slot
    MicroKernel micro_kernel = nullptr;
};

// Picks the micro-tile height for an M-row product. An mr-row tile costs about
// max(mr, 4) cycles per K step (2*mr vector multiply-adds at two per cycle, but
// never faster than the ~4-cycle latency of one accumulator chain), so the cost of
// M rows is ceil(M / mr) * max(mr, 4). A short tile replaces the main one only
// when that saves over 5 % (ties keep the taller tile: fewer B panel passes).
// A 1-row tile is the GEMV case: it splits K over several accumulator sets, so it
// is not latency-bound and at M = 1 does a quarter of the 4-row tile's multiply-
// adds (which matters where B streams from L3: bf16 M = 1 ran at 0.7-0.8 of
// oneDNN); for M > 1 it would stream B once per row, so it is used at M = 1 only.
template <class MicroKernel, size_t N>
void choose_row_tile(int64_t m, const std::array<ShortTile<MicroKernel>, N>& tiles, Blocking* bl, MicroKernel* ukr) {
    auto cost = [m](int mr) { return static_cast<double>((m + mr - 1) / mr) * std::max(mr, 4); };
    const double main_cost = cost(bl->mr);
    double best = main_cost * 0.95;
    for (const auto& t : tiles) {
        if (t.mr == 1 && t.micro_kernel && m == 1) {
            bl->mr = 1;
            *ukr = t.micro_kernel;
            return;
        }
        if (t.mr <= 1 || !t.micro_kernel || bl->mc % t.mr != 0) continue;
        if (cost(t.mr) < best) {
            best = cost(t.mr);
            bl->mr = t.mr;
            *ukr = t.micro_kernel;
        }
    }
}

// Packs rows [i0, i0+rows) and K range [p0, p0+kc) of op(A) into MR-row panels.
// op(A) is (M, K): A is (M, lda) row-major, or (K, lda) when trans.
template <class T, int KG>
void pack_a(const T* a, int64_t lda, bool trans, int64_t i0, int64_t rows, int64_t p0, int64_t kc, int mr,
            T* dst /* (ceil(rows/mr), kcp/KG, mr, KG) */) {
    const int64_t kcp = round_up(kc, KG);
    for (int64_t ib = 0; ib < rows; ib += mr) {
        const int live = static_cast<int>(std::min<int64_t>(mr, rows - ib));
        T* panel = dst + ib * kcp;  // (kcp/KG, mr, KG)
        if (live < mr || kcp != kc) std::memset(panel, 0, sizeof(T) * static_cast<size_t>(kcp * mr));
        if (!trans) {
            // Whole KG groups of 4 bytes (an f32, a bf16 pair, an int8 quad) move as one
            // unit through the per-ISA pack kernel; a ragged K tail goes element-wise.
            static_assert(sizeof(T) * KG == 4, "pack_a moves 4-byte units");
            const T* src = a + (i0 + ib) * lda + p0;
            const int64_t full = kc / KG;
            pack_kernel().rows_u32(reinterpret_cast<const uint8_t*>(src), lda * static_cast<int64_t>(sizeof(T)), live, full, mr,
                                   reinterpret_cast<uint8_t*>(panel));
            for (int r = 0; r < live; ++r)
                for (int64_t kk = full * KG; kk < kc; ++kk) panel[full * mr * KG + r * KG + kk % KG] = src[r * lda + kk];
        } else {
            for (int64_t kk = 0; kk < kc; ++kk) {
                const T* src = a + (p0 + kk) * lda + i0 + ib;
                T* out = panel + (kk / KG) * mr * KG + kk % KG;
                for (int r = 0; r < live; ++r) out[r * KG] = src[r];
            }
        }
    }
}

// Packs columns [j0, j0+cols) and K range [p0, p0+kc) of op(B) into NR-column
// panels. op(B) is (K, N): B is (K, ldb) row-major, or (N, ldb) when trans.
template <class T, int KG>
void pack_b(const T* b, int64_t ldb, bool trans, int64_t j0, int64_t cols, int64_t p0, int64_t kc, int nr,
            T* dst /* (ceil(cols/nr), kcp/KG, nr, KG) */) {
    const int64_t kcp = round_up(kc, KG);
    for (int64_t jb = 0; jb < cols; jb += nr) {
        const int live = static_cast<int>(std::min<int64_t>(nr, cols - jb));
        T* panel = dst + jb * kcp;  // (kcp/KG, nr, KG)
        if (live < nr || kcp != kc) std::memset(panel, 0, sizeof(T) * static_cast<size_t>(kcp * nr));
        if (!trans) {
            for (int64_t kk = 0; kk < kc; ++kk) {
                const T* src = b + (p0 + kk) * ldb + j0 + jb;
                T* out = panel + (kk / KG) * nr * KG + kk % KG;
                if constexpr (KG == 1) {
                    std::memcpy(out, src, sizeof(T) * static_cast<size_t>(live));
                } else {
                    for (int c = 0; c < live; ++c) out[c * KG] = src[c];
                }
            }
        } else {
            for (int c = 0; c < live; ++c) {
                const T* src = b + (j0 + jb + c) * ldb + p0;
                T* out = panel + c * KG;
                for (int64_t kk = 0; kk < kc; ++kk) out[(kk / KG) * nr * KG + kk % KG] = src[kk];
            }
        }
    }
}

// Elements of a whole-matrix prepacked B: K blocks of `kc` one after another,
// each holding all ceil(N/NR) panels of that block.
inline int64_t prepacked_b_elements(const Blocking& bl, int64_t k, int64_t n) {
    const int64_t n_pad = round_up(n, bl.nr);
    return (k / bl.kc) * bl.kc * n_pad + round_up(k % bl.kc, bl.kg) * n_pad + int64_t{bl.kg} * bl.nr;
}

template <class T, int KG>
void prepack_b(const Blocking& bl, const T* b, int64_t ldb, bool trans, int64_t k, int64_t n,
               T* dst /* prepacked_b_elements(bl, k, n) */) {
    const int64_t n_pad = round_up(n, bl.nr);
    for (int64_t pc = 0; pc < k; pc += bl.kc) {
        const int64_t kc = std::min<int64_t>(bl.kc, k - pc);
        pack_b<T, KG>(b, ldb, trans, 0, n, pc, kc, bl.nr, dst + (pc / bl.kc) * bl.kc * n_pad);
    }
}

// The per-thread packing workspace: grown (never inside the loops) to the
// largest size asked for and kept for the life of the thread, so steady-state
// calls allocate nothing. 64-byte aligned.
void* thread_workspace(size_t bytes);

// One thread's share of C: rows [i0, i1) and columns [j0, j1), j0 % NR == 0.
struct Rect {
    int64_t i0, i1, j0, j1;
};

// Splits an (m, n) output over `threads` workers as a tm x tn grid that keeps
// every share a whole number of micro-tiles and balances padded work, charging
// the operands each extra row / column group packs again (B only when it is
// packed per thread, not prepacked). Returns the grid (tm, tn).
void choose_grid(int64_t m, int64_t n, int mr, int nr, int threads, bool b_packed_per_thread, int* tm, int* tn);
Rect grid_share(int64_t m, int64_t n, int mr, int nr, int tm, int tn, int index);

// Below this many multiply-adds a GEMM runs on the calling thread: waking the
// pool would cost more than it saves.
constexpr int64_t kMinParallelMacs = int64_t{1} << 18;

// The blocked loop nest over one thread's rectangle. `tile(kcp, a_panel,
// b_panel, i, j, rows, cols, first_k, last_k)` runs one micro-kernel call on the
// (rows x cols) tile at (i, j); first_k/last_k say whether this is the first/last
// K block (epilogues apply beta on the first, bias/activation on the last).
// `b_block(jc, nc, pc, kc, workspace)` returns the packed (KC, NC) block of B at
// columns jc and depth pc: packed into `workspace` (NC x KC elements of TB, only
// when `b_workspace` is true) or found in a prepacked buffer.
template <class TA, class TB, int KG, class BBlock, class Tile>
void run_blocked_with(const Blocking& bl, const Rect& r, int64_t k, const TA* a, int64_t lda, bool trans_a,
                      bool b_workspace, BBlock&& b_block, Tile&& tile) {
    const int64_t m_rows = r.i1 - r.i0;
    if (m_rows <= 0 || r.j1 <= r.j0) return;
    const int64_t kc_max = std::min<int64_t>(bl.kc, round_up(std::max<int64_t>(k, 1), KG));
    // A short M (a prefill chunk of ~128 rows) is one MC block when all of its packed
    // A fits 3/4 of this machine's L2 (with one B micro-panel beside it), so
    // every B panel streams from memory once instead of once per 48 rows: where B
    // does not fit L3 the first tile over each panel waits on DRAM. Larger M keeps MC:
    // raising it did not help. The bound is the CPU's own L2 (a fixed 1 MiB bound
    // overflowed Zen 3's 512 KiB L2). Measurements: bench/RESULTS_gemm.md.
    static const int64_t a_bytes_fit = cpu_features().l2_cache_bytes / 4 * 3;
    const int64_t a_rows_fit = a_bytes_fit / (kc_max * static_cast<int64_t>(sizeof(TA)));
    const int64_t mc_step = round_up(m_rows, bl.mr) <= a_rows_fit ? std::max<int64_t>(bl.mc, round_up(m_rows, bl.mr)) : bl.mc;
    const int64_t mc_max = std::min<int64_t>(mc_step, round_up(m_rows, bl.mr));
    const int64_t nc_max = std::min<int64_t>(bl.nc, round_up(r.j1 - r.j0, bl.nr));
    const size_t a_bytes = static_cast<size_t>(round_up(mc_max * kc_max * sizeof(TA), 64));
    const size_t b_bytes = b_workspace ? static_cast<size_t>(nc_max * kc_max * sizeof(TB)) : 0;
    auto* ws = static_cast<uint8_t*>(thread_workspace(a_bytes + b_bytes));
    TA* a_pack = reinterpret_cast<TA*>(ws);              // (MC, KC) in MR-row panels
    TB* b_pack = reinterpret_cast<TB*>(ws + a_bytes);    // (KC, NC) in NR-column panels
    const int64_t k_steps = std::max<int64_t>(k, 1);  // k == 0 still runs the epilogue once

    for (int64_t jc = r.j0; jc < r.j1; jc += bl.nc) {
        const int64_t nc = std::min<int64_t>(bl.nc, r.j1 - jc);
        for (int64_t pc = 0; pc < k_steps; pc += bl.kc) {
            const int64_t kc = std::min<int64_t>(bl.kc, k - pc);  // 0 when k == 0
            const int64_t kcp = round_up(kc, KG);
            const TB* bp = b_block(jc, nc, pc, kc, b_pack);
            const bool first = pc == 0, last = pc + bl.kc >= k_steps;
            for (int64_t ic = r.i0; ic < r.i1; ic += mc_step) {
                const int64_t mc = std::min<int64_t>(mc_step, r.i1 - ic);
                pack_a<TA, KG>(a, lda, trans_a, ic, mc, pc, kc, bl.mr, a_pack);
                for (int64_t jr = 0; jr < nc; jr += bl.nr) {
                    const int cols = static_cast<int>(std::min<int64_t>(bl.nr, nc - jr));
                    for (int64_t ir = 0; ir < mc; ir += bl.mr) {
                        const int rows = static_cast<int>(std::min<int64_t>(bl.mr, mc - ir));
                        tile(kcp, a_pack + ir * kcp, bp + jr * kcp, ic + ir, jc + jr, rows, cols, first, last);
                    }
                }
            }
        }
    }
}

// run_blocked_with for a B in memory: packed per block from op(B) (K, N), or
// read from a prepack_b() buffer of width n_total when `prepacked` is non-null.
template <class TA, class TB, int KG, class Tile>
void run_blocked(const Blocking& bl, const Rect& r, int64_t k, const TA* a, int64_t lda, bool trans_a, const TB* b,
                 int64_t ldb, bool trans_b, const TB* prepacked, int64_t n_total, Tile&& tile) {
    const int64_t n_pad_total = round_up(n_total, bl.nr);
    run_blocked_with<TA, TB, KG>(
        bl, r, k, a, lda, trans_a, prepacked == nullptr,
        [&](int64_t jc, int64_t nc, int64_t pc, int64_t kc, TB* workspace) -> const TB* {
            if (prepacked) return prepacked + (pc / bl.kc) * bl.kc * n_pad_total + jc * round_up(kc, KG);
            pack_b<TB, KG>(b, ldb, trans_b, jc, nc, pc, kc, bl.nr, workspace);
            return workspace;
        },
        tile);
}

// Runs `body(rect)` for every thread's share of an (m, n) output.
template <class Body>
void run_parallel(ThreadPool& pool, int64_t m, int64_t n, int64_t k, int mr, int nr, bool b_packed_per_thread,
                  Body&& body) {
    const int threads = (m * n * std::max<int64_t>(k, 1) < kMinParallelMacs) ? 1 : pool.size();
    if (threads <= 1) {
        body(Rect{0, m, 0, n});
        return;
    }
    int tm = 1, tn = 1;
    choose_grid(m, n, mr, nr, threads, b_packed_per_thread, &tm, &tn);
    pool.run([&](int index, int) {
        if (index >= tm * tn) return;
        body(grid_share(m, n, mr, nr, tm, tn, index));
    });
}

}  // namespace tern::gemm
