// sparse kernel selection and the threaded drivers: shape checks, the
// activation layouts the kernels read, and output rows split across the pool.
#include "kernels/sparse/sparse.h"

#include <algorithm>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/kernel_table.h"

namespace tern {

std::span<const SparseKernels* const> sparse_variants() {
    static const std::vector<const SparseKernels*> variants = isa_variants(kSparseScalar, kSparseAvx2, kSparseAvx512);
    return variants;
}

const SparseKernels& sparse_kernel() {
    static const SparseKernels& chosen = active_isa_variant(kSparseScalar, kSparseAvx2, kSparseAvx512);
    return chosen;
}

namespace {

void check_call(const char* what, int64_t m, const void* x, const void* y, bool needs_scale, const float* x_scale) {
    if (m < 1 || m > kSparseMaxRows)
        throw InputError(what, format("%lld activation rows outside 1..%lld", static_cast<long long>(m),
                                      static_cast<long long>(kSparseMaxRows)));
    if (!x || !y) throw InputError(what, "null activations or output");
    if (needs_scale && !x_scale) throw InputError(what, "int8 activations need their per-row scales");
}

// Rows of about equal cost: 64 rows a chunk keeps a 2-thread split balanced
// at 2048 outputs while each chunk still streams tens of KiB of weights.
template <class F>
void over_rows(ThreadPool& pool, int64_t n, F&& fn) {
    pool.parallel_for(n, 64, [&](int64_t b, int64_t e) { fn(b, e); });
}

// (M, K) -> (K, M): each nonzero then reads its M activations as one vector.
template <class Src, class Dst>
void transpose_into(const Src* x, int64_t m, int64_t k, std::vector<Dst>& out) {
    out.resize(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < k; ++c) out[static_cast<size_t>(c * m + i)] = static_cast<Dst>(x[i * k + c]);
}

}  // namespace

void sparse_matmul(const CsrF32& w, const float* x, int64_t m, float* y, SparseScratch& s, ThreadPool& pool,
                   const SparseKernels& kern) {
    check_call("sparse_matmul(csr_f32)", m, x, y, false, nullptr);
    const float* xt = x;  // one row is its own transpose
    if (m > 1) {
        transpose_into(x, m, w.k, s.xt_f32);
        xt = s.xt_f32.data();
    }
    over_rows(pool, w.n, [&](int64_t b, int64_t e) { kern.csr_f32(w, b, e, xt, m, y, w.n); });
}

void sparse_matmul(const CsrS8& w, const int8_t* x, const float* x_scale, int64_t m, float* y, SparseScratch& s,
                   ThreadPool& pool, const SparseKernels& kern) {
    check_call("sparse_matmul(csr_s8)", m, x, y, true, x_scale);
    transpose_into(x, m, w.k, s.xt_s32);  // int32 so a gather reads one activation per lane
    over_rows(pool, w.n, [&](int64_t b, int64_t e) { kern.csr_s8(w, b, e, s.xt_s32.data(), x_scale, m, y, w.n); });
}

namespace {

// (M, K) int8 -> (M, k_pad) u8 = x + 128, padded with 128 (zero): vpdpbusd's unsigned operand.
void offset_pad_into(const int8_t* x, int64_t m, int64_t k, int64_t k_pad, std::vector<uint8_t>& out) {
    out.assign(static_cast<size_t>(m * k_pad), 128);
    for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < k; ++c)
            out[static_cast<size_t>(i * k_pad + c)] = static_cast<uint8_t>(static_cast<int32_t>(x[i * k + c]) + 128);
}

}  // namespace

void sparse_matmul(const Sparse24S8& w, const int8_t* x, const float* x_scale, int64_t m, float* y, SparseScratch& s,
                   ThreadPool& pool, const SparseKernels& kern) {
    check_call("sparse_matmul(sparse24_s8)", m, x, y, true, x_scale);
    offset_pad_into(x, m, w.k, w.k_pad, s.xu);
    over_rows(pool, w.n, [&](int64_t b, int64_t e) { kern.s24_s8(w, b, e, s.xu.data(), x_scale, m, y, w.n); });
}

void sparse_matmul_offset(const Sparse24S8& w, const uint8_t* xu, const float* x_scale, int64_t m, float* y,
                          ThreadPool& pool, const SparseKernels& kern) {
    check_call("sparse_matmul_offset(sparse24_s8)", m, xu, y, true, x_scale);
    if (w.k != w.k_pad) throw InputError("sparse_matmul_offset(sparse24_s8)", "K must be a multiple of 128 (no padding)");
    over_rows(pool, w.n, [&](int64_t b, int64_t e) { kern.s24_s8(w, b, e, xu, x_scale, m, y, w.n); });
}

void sparse_matmul(const BitmapS8& w, const int8_t* x, const float* x_scale, int64_t m, float* y, SparseScratch& s,
                   ThreadPool& pool, const SparseKernels& kern) {
    check_call("sparse_matmul(bitmap_s8)", m, x, y, true, x_scale);
    offset_pad_into(x, m, w.k, w.k_pad, s.xu);
    over_rows(pool, w.n, [&](int64_t b, int64_t e) { kern.bitmap_s8(w, b, e, s.xu.data(), x_scale, m, y, w.n); });
}

}  // namespace tern
