#pragma once
// Prefill (M > 1) on 2:4 int8 weights without a dense copy: for each NR-column
// panel of W^T, the thread expands the panel's 2:4 codes into gemm_q8's dense
// packed-B layout (SparseKernels::s24_densify) in its own L2-sized workspace,
// then runs gemm_q8's micro-kernel over all M activation rows against it. The
// weight bytes read from memory stay the sparse ones (0.66 per weight); the
// expansion is paid once per panel and shared by M rows, where the 2:4 kernel
// (a dot product per activation row) re-reads and re-expands the weights for
// every row. The outputs are bit-identical to w8a8_matmul on the same codes:
// the same micro-kernel, the same epilogue (corr · (1 · d[n])), then · s_m.
#include <cstdint>
#include <vector>

#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/sparse/sparse.h"

namespace tern {

class ThreadPool;

// The activation rows packed for the micro-kernel, shared by the threads; grown
// on demand and reused across calls (one per calling thread, like W8A8Scratch).
struct Sparse24GemmScratch {
    std::vector<uint8_t> a_pack;
};

// y (M, N) = x @ W^T with x given as xu (M, k_pad): u8 codes q + 128 (as
// w8a8's activation quantizer writes them; a K tail padded with 128) and its
// per-row scales x_scale (M): y[m][n] = (float(sum q·w) · scale[n]) · x_scale[m].
// Any M >= 1. Threads claim weight panels one at a time (a thread slowed by
// another process hands its panels to the others); each expands its panel in
// gemm_common's per-thread workspace (grown once). InputError on a bad shape.
void sparse24_gemm_q8(const Sparse24S8& w, const uint8_t* xu, const float* x_scale, int64_t m, float* y,
                      Sparse24GemmScratch& scratch, ThreadPool& pool, const GemmQ8Kernel& gemm = gemm_q8_kernel(),
                      const SparseKernels& kern = sparse_kernel());

}  // namespace tern
