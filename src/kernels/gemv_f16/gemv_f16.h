#pragma once
// gemv_f16: y (M, N) = act(x (M, K) @ W^T + bias) with W kept in IEEE binary16
// and x, y in f32. Weights stay half-size in memory, so decode (M = 1..4), which
// is bound by the bytes of W it streams, reads half of what f32 weights cost.
//
// Lifecycle (create → run): GemvF16Weights repacks W (N, K) row-major once into
// panels of NR rows, each (K, NR) with k outermost, so one pass over K reads NR
// outputs' weights contiguously (one 64-byte line = 32 outputs of one k on
// AVX-512). NR is the panel width of the gemm_f32 kernel of the same ISA, so a
// prefill GEMM turns a (KC, NR) slice of a panel into exactly the f32 micro-panel
// that kernel reads with one contiguous f16 -> f32 conversion.
//
//   GEMV: F16C / AVX-512 vcvtph2ps + FMA, 4 rows of x against one panel; threads
//         split the panels. More rows go in groups of 4, every group on a panel
//         before the next panel, so W comes from DRAM once and from L2 after.
//         At decode (M = 1..4) this streams W at memory bandwidth.
//   GEMM: gemm_f32's blocked loops and micro-kernels, B micro-panels converted
//         on the fly (per MC rows of x) instead of read from a prepacked f32 copy.
// matmul_f16 takes the GEMV up to the kernel's `gemv_max_rows` (all M on
// AVX-512, where the 4 x 32 f16 tile out-ran gemm_f32's 12 x 32 even at M = 512;
// 8 on AVX2, where the converting GEMM on gemm_f32's 6 x 16 wins from M = 16),
// the GEMM above.
// f16 -> f32 is exact, so every path differs from the f64 reference only by the
// order of the f32 additions.
#include <cstdint>
#include <span>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/gemm_common/activation.h"

namespace tern {

class ThreadPool;
struct GemmF32Kernel;
struct GemmBf16Kernel;

// Rows of x one GEMV kernel call multiplies against one read of a panel.
inline constexpr int kGemvF16PassRows = 4;

// One GEMV call on panels [panel0, panel1): y rows [0, m) of those columns.
struct GemvF16Params {
    const uint16_t* w = nullptr;  // (panels, k, nr) f16; rows past n are zero
    int64_t n = 0, k = 0;
    const float* x = nullptr;  // (m, ldx)
    int64_t ldx = 0;
    int m = 1;  // 1 .. kGemvF16PassRows
    float* y = nullptr;  // (m, ldy); only columns < n are written
    int64_t ldy = 0;
    const float* bias = nullptr;  // (n) or null
    Activation act = Activation::none;
};

struct GemvF16Kernel {
    const char* name;  // dtype_op_tile_isa: gemv_f16_32col_avx512
    Isa isa;
    int nr;  // panel width: the NR of gemm_f32's kernel of the same ISA
    // matmul_f16 runs the GEMV up to this many rows of x and the converting GEMM
    // above; where the two cross, measured with bench_gemv_f16 (gemm/ rows).
    int64_t gemv_max_rows;
    void (*gemv)(const GemvF16Params& p, int64_t panel0, int64_t panel1);
    // dst[i] = (float)src[i], i < count: the prefill's micro-panel conversion.
    void (*to_f32)(const uint16_t* src, int64_t count, float* dst);
    // The bf16 prefill's B packing (gemm_f16_bf16): a (kc, NR) slice of a panel
    // rounded to bf16 (nearest even) in gemm_bf16's pair layout
    // (ceil(kc/2), NR, 2), an odd kc's last pair zero-padded.
    void (*to_bf16_pairs)(const uint16_t* src, int64_t kc, uint16_t* dst);
};

// W (N, K) f16 repacked into NR-row panels for one kernel (see top).
class GemvF16Weights {
public:
    // w: (n, ldw) f16 bits, row n = output feature n. Packs on `pool` when given.
    GemvF16Weights(const GemvF16Kernel& kernel, const uint16_t* w, int64_t ldw, int64_t n, int64_t k,
                   ThreadPool* pool = nullptr);
    ~GemvF16Weights();
    GemvF16Weights(const GemvF16Weights&) = delete;
    GemvF16Weights& operator=(const GemvF16Weights&) = delete;

    const GemvF16Kernel& kernel() const { return *kernel_; }
    int64_t n() const { return n_; }
    int64_t k() const { return k_; }
    int nr() const { return kernel_->nr; }
    int64_t panels() const { return panels_; }
    const uint16_t* data() const { return data_; }
    const uint16_t* panel(int64_t p) const { return data_ + p * k_ * nr(); }  // (k, nr)
    uint64_t bytes() const { return static_cast<uint64_t>(panels_ * k_ * nr()) * 2; }

private:
    const GemvF16Kernel* kernel_;
    int64_t n_, k_, panels_;
    uint16_t* data_;  // (panels, k, nr), 64-byte aligned
};

// Every row compiled in (best first), the variant active_isa() chooses, and every
// variant this CPU supports (scalar first): tests, benchmarks and `tern info --cpu`
// walk these (kernel_table.h).
std::span<const GemvF16Kernel> gemv_f16_table();
const GemvF16Kernel& gemv_f16_kernel();
std::span<const GemvF16Kernel* const> gemv_f16_variants();

// The gemm_f32 kernel a variant's prefill runs: the first row of gemm_f32's
// table with the same ISA and NR (the one gemm_f32 itself chooses at that ISA).
const GemmF32Kernel& gemv_f16_gemm_partner(const GemvF16Kernel& kernel);

// y (m, n) = act(x (m, k) @ W^T + bias); x row stride k, y row stride n.
// m <= kernel.gemv_max_rows runs the GEMV, larger m the converting GEMM.
void matmul_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
                ThreadPool& pool);
// The two paths on their own (tests and benchmarks); both take any m.
void gemv_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
              ThreadPool& pool);
void gemm_f16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
              ThreadPool& pool);

// The bf16 prefill (opt-in, llm --fpmath bf16): x rounded to bf16, each (KC, NC)
// block of W rounded f16 -> bf16 as it is packed, gemm_bf16's micro-kernels
// (vdpbf16ps: twice the multiply-adds per cycle of f32 FMA). Rounding W costs 3 of
// its 11 significand bits (relative error <= 2^-9 per weight), so results differ
// from matmul_f16 by more than summation order: the caller chooses this. Decode
// (a few rows) stays on the exact GEMV, which is bound by the bytes of W, not
// by arithmetic. x is rounded into a per-thread buffer on every call.
void gemm_f16_bf16(const GemvF16Weights& w, const float* x, int64_t m, float* y, const float* bias, Activation act,
                   ThreadPool& pool);
// The gemm_bf16 kernel gemm_f16_bf16 runs with w's kernel: same ISA and NR.
const GemmBf16Kernel& gemv_f16_bf16_partner(const GemvF16Kernel& kernel);

// Truth of gemm_f16_bf16 (ref.cpp): x and W rounded to bf16 as the kernel does,
// products and sums in f64.
void gemm_f16_bf16_reference(const uint16_t* w, int64_t n, int64_t k, const float* x, int64_t m, const float* bias,
                             Activation act, double* y /* (m, n) */);

// Truth (ref.cpp): W in its source layout (n, k) f16, products and sums in f64.
void gemv_f16_reference(const uint16_t* w, int64_t n, int64_t k, const float* x, int64_t m, const float* bias,
                        Activation act, double* y /* (m, n) */);

// Table rows (ref.cpp, gemv_f16_avx2.cpp, gemv_f16_avx512.cpp).
void gemv_f16_8col_scalar(const GemvF16Params& p, int64_t panel0, int64_t panel1);
void f16_to_f32_scalar(const uint16_t* src, int64_t count, float* dst);
void f16_to_bf16_pairs_8col_scalar(const uint16_t* src, int64_t kc, uint16_t* dst);
void f16_to_bf16_pairs_16col_avx2(const uint16_t* src, int64_t kc, uint16_t* dst);
void f16_to_bf16_pairs_32col_avx512(const uint16_t* src, int64_t kc, uint16_t* dst);
void gemv_f16_16col_avx2(const GemvF16Params& p, int64_t panel0, int64_t panel1);
void f16_to_f32_avx2(const uint16_t* src, int64_t count, float* dst);
void gemv_f16_32col_avx512(const GemvF16Params& p, int64_t panel0, int64_t panel1);
void f16_to_f32_avx512(const uint16_t* src, int64_t count, float* dst);

}  // namespace tern
