#pragma once
// The driver every packed GEMM family (f32, bf16, q8) runs, written once: the
// argument checks of op(A) op(B) with B raw or packed, and the run that picks
// the row tile for M, splits C over the pool and hands every tile to the
// family's micro-kernel with its epilogue. Families differ only in element
// types, K group (KG) and epilogue. Include from the families' .cpp files.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm_common/gemm_blocking.h"

namespace tern::gemm {

// Shapes and leading dimensions of C = op(A) op(B) with B raw or packed
// (Args: m, n, k, a, lda, trans_a, b, ldb, trans_b, packed_b, c, ldc).
template <class Kernel, class Args>
void check_dense_args(const char* where, const Kernel& kernel, const Args& g) {
    if (g.m < 0 || g.n < 0 || g.k < 0)
        throw InputError(where, format("negative shape %lld x %lld x %lld", (long long)g.m, (long long)g.n, (long long)g.k));
    if (g.m == 0 || g.n == 0) return;
    if (!g.c || g.ldc < g.n) throw InputError(where, format("C needs ldc >= N (%lld < %lld)", (long long)g.ldc, (long long)g.n));
    if (g.k > 0) {
        if (!g.a || g.lda < (g.trans_a ? g.m : g.k))
            throw InputError(where, format("A needs lda >= %lld, got %lld", (long long)(g.trans_a ? g.m : g.k), (long long)g.lda));
        if (g.packed_b) {
            if (g.packed_b->k() != g.k || g.packed_b->n() != g.n)
                throw InputError(where, "packed B shape does not match K x N");
            if (&g.packed_b->kernel() != &kernel && g.packed_b->kernel().micro_kernel != kernel.micro_kernel)
                throw InputError(where, std::string("B was packed for ") + g.packed_b->kernel().name + ", not " + kernel.name);
        } else if (!g.b || g.ldb < (g.trans_b ? g.k : g.n)) {
            throw InputError(where, format("B needs ldb >= %lld, got %lld", (long long)(g.trans_b ? g.k : g.n), (long long)g.ldb));
        }
    }
}

// C (m, n) = op(A) (m, k) op(B) (k, n) on `kernel`, B read from `prepacked` (a
// PackedB's data) or, when that is null, packed per block from b. Every tile goes
// to tile(ukr, kcp, a_panel, b_panel, i, j, rows, cols, first_k, last_k), which
// calls the micro-kernel ukr (the main one, or a short tile for small M) with the
// family's epilogue for the tile at (i, j).
template <class TA, class TB, int KG, class Kernel, class Tile>
void run_packed(const Kernel& kernel, ThreadPool& pool, int64_t m, int64_t n, int64_t k, const TA* a, int64_t lda,
                bool trans_a, const TB* b, int64_t ldb, bool trans_b, const TB* prepacked, Tile&& tile) {
    Blocking bl = kernel.blocking;
    auto ukr = kernel.micro_kernel;
    choose_row_tile(m, kernel.short_tiles, &bl, &ukr);
    run_parallel(pool, m, n, k, bl.mr, bl.nr, prepacked == nullptr, [&](const Rect& r) {
        run_blocked<TA, TB, KG>(bl, r, k, a, lda, trans_a, b, ldb, trans_b, prepacked, n,
                                [&](int64_t kcp, const TA* ap, const TB* bp, int64_t i, int64_t j, int rows, int cols,
                                    bool first, bool last) { tile(ukr, kcp, ap, bp, i, j, rows, cols, first, last); });
    });
}

}  // namespace tern::gemm
