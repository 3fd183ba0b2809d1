#pragma once
// Sparse weight kernels for pruned linear layers: W is (N, K) as ops::Linear
// stores it (N output features, K input features); every product computes
// Y (M, N) = X (M, K) · W^T for M = 1 (decode, SpMV) up to a few dozen rows
// (prefill, SpMM).
//   CSR f32:  row pointers (u32) + u16 column indices + f32 values.
//   CSR s8:   the same pattern, int8 values with one scale per row; int8
//             activations with one scale per activation row, int32 sums.
//   bitmap s8: a 64-bit column mask per 64 columns + the packed nonzero int8 values.
//   2:4 s8:   at most 2 nonzeros in every group of 4 along K: the 2 kept int8
//             values + two 2-bit positions per group, one scale per row.
// Column indices are 16-bit: a pruned matrix is bandwidth-bound, and u16
// indices cost 2 bytes per nonzero instead of 4 (f32: 6 bytes per nonzero, so
// CSR reads fewer bytes than dense f32 above 33 % sparsity instead of 50 %).
// K up to 65535 covers every LLM hidden and FFN width tern runs; pack rejects
// wider rows.
//
// Packing (sparse_pack.cpp) validates and allocates; the kernels neither check,
// allocate nor throw. Drivers (sparse.cpp) check shapes, lay the activations out
// in caller-owned scratch and split output rows across the pool.
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"

namespace tern {

class ThreadPool;

// Packed weights live in aligned_alloc_bytes memory (transparent huge pages
// past 2 MiB): with 4 KiB pages a 30 MB CSR matrix streamed at a quarter of
// the speed of the same bytes on huge pages (page walks, and prefetchers stop
// at every page boundary).
template <class T>
struct WeightAllocator {
    using value_type = T;
    WeightAllocator() = default;
    template <class U>
    WeightAllocator(const WeightAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(aligned_alloc_bytes(n * sizeof(T), 64)); }
    void deallocate(T* p, size_t) { aligned_free_bytes(p); }
    template <class U>
    bool operator==(const WeightAllocator<U>&) const { return true; }
};
template <class T>
using WeightVec = std::vector<T, WeightAllocator<T>>;

struct CsrF32 {
    int64_t n = 0, k = 0;
    WeightVec<uint32_t> row_ptr;  // (N + 1) offsets into col / val
    WeightVec<uint16_t> col;      // (nnz) column of each nonzero, ascending in a row
    WeightVec<float> val;         // (nnz)
    int64_t nnz() const { return static_cast<int64_t>(val.size()); }
    uint64_t bytes() const { return row_ptr.size() * 4 + col.size() * 2 + val.size() * 4; }
};

struct CsrS8 {
    int64_t n = 0, k = 0;
    WeightVec<uint32_t> row_ptr;  // (N + 1)
    WeightVec<uint16_t> col;      // (nnz)
    WeightVec<int8_t> val;        // (nnz) in [-127, 127]
    WeightVec<float> scale;       // (N) w[r][c] ≈ scale[r] · val
    int64_t nnz() const { return static_cast<int64_t>(val.size()); }
    uint64_t bytes() const { return row_ptr.size() * 4 + col.size() * 2 + val.size() + scale.size() * 4; }
};

// 2:4 rows padded with empty groups to k_pad (a multiple of 128, one AVX-512
// step). Group g of row r covers columns 4g..4g+3 and keeps val[r][2g] at
// column 4g + p0 and val[r][2g+1] at 4g + p1, where byte g/2 of the row's
// positions holds (p0 | p1 << 2) in its low nibble for even g, high for odd g.
struct Sparse24S8 {
    static constexpr int64_t kPad = 128;
    int64_t n = 0, k = 0, k_pad = 0;
    WeightVec<int8_t> val;        // (N, k_pad / 2) in [-127, 127]
    WeightVec<uint8_t> pos;       // (N, k_pad / 8)
    WeightVec<float> scale;       // (N)
    WeightVec<int32_t> row_sum;   // (N) sum of val: undoes the +128 activation offset of vpdpbusd
    uint64_t bytes() const { return val.size() + pos.size() + scale.size() * 4 + row_sum.size() * 4; }
};

// Bitmap rows: one bit per column in 64-column blocks, then the row's nonzero
// int8 values packed in column order. No indices: 1/8 byte per column plus
// 1 byte per nonzero (80 % sparsity: 0.325 bytes per weight, CSR int8 0.6),
// and the kernel expands values into place (vpexpandb) instead of gathering
// activations, which capped CSR at ~2.4 G nonzeros/s on Zen 5.
struct BitmapS8 {
    static constexpr int64_t kBlock = 64;
    int64_t n = 0, k = 0, k_pad = 0;  // k_pad: K rounded up to kBlock
    WeightVec<uint64_t> mask;         // (N, k_pad / 64), bit c % 64 of word c / 64: column c is nonzero
    WeightVec<uint32_t> row_ptr;      // (N + 1) offsets into val
    WeightVec<int8_t> val;            // (nnz + 64): the last 64 bytes pad vector loads past the end
    WeightVec<float> scale;           // (N)
    WeightVec<int32_t> row_sum;       // (N) sum of val (the +128 activation offset)
    int64_t nnz() const { return static_cast<int64_t>(row_ptr.empty() ? 0 : row_ptr.back()); }
    uint64_t bytes() const {
        return mask.size() * 8 + row_ptr.size() * 4 + static_cast<uint64_t>(nnz()) + scale.size() * 4 + row_sum.size() * 4;
    }
};

// What one kernel call computes: output rows [r0, r1) of y (M, ldy).
struct SparseKernels {
    const char* name;  // e.g. "sparse_avx512"
    Isa isa;
    // y[m][r] = sum_j val[j] · xt[col[j] · M + m]          xt: (K, M), the activations transposed
    void (*csr_f32)(const CsrF32& w, int64_t r0, int64_t r1, const float* xt, int64_t m, float* y, int64_t ldy);
    // y[m][r] = scale[r] · x_scale[m] · sum_j val[j] · xt[col[j] · M + m]   (int32 sum; xt: (K, M) int32)
    void (*csr_s8)(const CsrS8& w, int64_t r0, int64_t r1, const int32_t* xt, const float* x_scale, int64_t m,
                   float* y, int64_t ldy);
    // y[m][r] = scale[r] · x_scale[m] · sum_g (val · x at the kept positions)   (int32 sum)
    // xu: (M, k_pad) activations + 128 as u8, padded with 128 (zero).
    void (*s24_s8)(const Sparse24S8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                   float* y, int64_t ldy);
    // As s24_s8 for bitmap rows; xu: (M, k_pad) as above.
    void (*bitmap_s8)(const BitmapS8& w, int64_t r0, int64_t r1, const uint8_t* xu, const float* x_scale, int64_t m,
                      float* y, int64_t ldy);
    // Rows [r0, r0 + cols) of a 2:4 weight (cols <= nr), all of k_pad, expanded to the dense int8
    // panel gemm_q8's micro-kernels read (gemm_blocking.h's B layout, KG = 4):
    //   dst[(q · nr + c) · 4 + i] = w[r0 + c][4q + i]   (k_pad / 4 quads; columns cols..nr-1 zero).
    // A group's byte p0 gets val[2g], byte p1 val[2g+1]; when p0 == p1 (a group with fewer than
    // 2 nonzeros, whose second value is 0) the byte keeps val[2g]. dst: 64-byte aligned.
    void (*s24_densify)(const Sparse24S8& w, int64_t r0, int cols, int nr, int8_t* dst);
};

const SparseKernels& sparse_kernel();
std::span<const SparseKernels* const> sparse_variants();
extern const SparseKernels kSparseScalar;
extern const SparseKernels kSparseAvx2;
extern const SparseKernels kSparseAvx512;
// The reference s24_densify (any nr); the vector rows fall back to it when nr is not a multiple of their width.
void s24_densify_scalar(const Sparse24S8& w, int64_t r0, int cols, int nr, int8_t* dst);

// ---- packing (throws InputError) ----

// The nonzeros of dense w (N, K) row-major; exact zeros are the pruned weights.
CsrF32 pack_csr_f32(const float* w, int64_t n, int64_t k);
// Same pattern; each row quantized symmetrically to [-127, 127] by its max |w|.
// A nonzero that rounds to 0 stays stored (the pattern is the model's, not the rounding's).
CsrS8 pack_csr_s8(const float* w, int64_t n, int64_t k);
// w must be 2:4 sparse along K (K a multiple of 4, at most 2 nonzeros per group).
Sparse24S8 pack_sparse24_s8(const float* w, int64_t n, int64_t k);
// Any pattern (exact zeros pruned), per-row int8 as pack_csr_s8.
BitmapS8 pack_bitmap_s8(const float* w, int64_t n, int64_t k);

// Dense (N, K) images of the packed weights (values times scale): tests and tools.
std::vector<float> unpack_dense(const CsrF32& w);
std::vector<float> unpack_dense(const CsrS8& w);
std::vector<float> unpack_dense(const Sparse24S8& w);
std::vector<float> unpack_dense(const BitmapS8& w);

// Per-row symmetric int8 activations: q (M, K), scale (M), x ≈ scale · q.
void quantize_rows_s8(const float* x, int64_t m, int64_t k, int8_t* q, float* scale);

// ---- drivers: check shapes (InputError), lay out x in scratch, run on the pool ----

// Caller-owned activation buffers, grown on demand and reused across calls.
struct SparseScratch {
    std::vector<float> xt_f32;
    std::vector<int32_t> xt_s32;
    std::vector<uint8_t> xu;
};

// x: (M, K) f32, y: (M, N) f32. M in [1, kSparseMaxRows].
constexpr int64_t kSparseMaxRows = 64;
void sparse_matmul(const CsrF32& w, const float* x, int64_t m, float* y, SparseScratch& scratch, ThreadPool& pool,
                   const SparseKernels& kern = sparse_kernel());
// x: (M, K) int8 with x_scale (M); y: (M, N) f32.
void sparse_matmul(const CsrS8& w, const int8_t* x, const float* x_scale, int64_t m, float* y, SparseScratch& scratch,
                   ThreadPool& pool, const SparseKernels& kern = sparse_kernel());
void sparse_matmul(const Sparse24S8& w, const int8_t* x, const float* x_scale, int64_t m, float* y,
                   SparseScratch& scratch, ThreadPool& pool, const SparseKernels& kern = sparse_kernel());
// The same with the activations already as the kernel reads them: xu (M, K)
// u8 codes q + 128 (w8a8's activation quantizer writes exactly these); K must
// equal k_pad. ops::Linear's sparse24_q8 path: no conversion per call.
void sparse_matmul_offset(const Sparse24S8& w, const uint8_t* xu, const float* x_scale, int64_t m, float* y,
                          ThreadPool& pool, const SparseKernels& kern = sparse_kernel());
void sparse_matmul(const BitmapS8& w, const int8_t* x, const float* x_scale, int64_t m, float* y,
                   SparseScratch& scratch, ThreadPool& pool, const SparseKernels& kern = sparse_kernel());

}  // namespace tern
