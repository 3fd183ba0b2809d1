#pragma once
// The sparse24_q8 path of ops::Linear (formats/sparse24_block.h): the 2 kept
// int8 weights of every 4 run on the 2:4 sparse kernel (kernels/sparse), with
// the activations quantized to int8 per token exactly as the w8a8 path does
// (w8a8_quantize_activation_row), so the two paths compute the same integer
// sums and the same two f32 multiplies per output: bit-identical outputs.
//
// Prefill rows (M >= kSparse24GemmMinRows) on the sparse weights expand them
// panel by panel for gemm_q8 instead (kernels/sparse/sparse24_gemm.h).
//
// Which path a sparse24_q8 weight takes is measured once at load
// (choose_sparse24_path): the sparse kernel and the same codes densified for
// gemm_q8 (the w8a8 path) each run a decode step (M = 1) a few times; the
// other is freed. The measurement runs with the one matrix in cache, where
// dense int8 does not pay for its bytes; a real decode step streams every
// matrix from DRAM, and there dense reads 1.62x the bytes (136 vs 84 per 128
// weights). So sparse is kept unless it is slower than dense even with that
// credit (kSparse24ByteCredit). Without it, TinyLlama-shaped 2:4 kept sparse
// for only 40-53 of 154 matrices and decoded at 14-17 tok/s; all-sparse ran
// at 21-22 (bench/RESULTS_sparse.md). TERN_SPARSE24_PATH=sparse|dense skips
// the measurement (tests, comparisons).
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/sparse/sparse.h"

namespace tern {
class W8A8Matrix;
}

namespace tern::ops {

// From this many activation rows (prefill) the 2:4 weights are expanded panel by
// panel into gemm_q8's dense layout and multiplied by all rows at once
// (kernels/sparse/sparse24_gemm.h: the same bits as the w8a8 path, sparse
// bytes read); below it the 2:4 kernel runs one dot product per row. Measured
// crossover: bench/RESULTS_sparse.md (bench_sparse24).
inline constexpr int64_t kSparse24GemmMinRows = 8;

// The sparse kernel's weights, unpacked and validated from sparse24_q8 blocks.
class Sparse24Weights {
public:
    // blocks: the tensor's N * K / 128 blocks; InputError naming `name` on a bad one.
    Sparse24Weights(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name);
    // y (M, N) = x (M, K) @ W^T; any M: the 2:4 kernel below kSparse24GemmMinRows rows
    // (up to kSparseMaxRows a call), the batched expansion from there.
    void forward(const float* x, int64_t m, float* y) const;
    uint64_t bytes() const { return w_.bytes(); }
    const Sparse24S8& packed() const { return w_; }

private:
    Sparse24S8 w_;
};

// Dense int8 bytes per sparse24_q8 byte (136 / 84): sparse is kept while
// sparse_us <= kSparse24ByteCredit * dense_us.
inline constexpr double kSparse24ByteCredit = 136.0 / 84.0;

// What the load-time measurement decided, for `tern bench` and debug lines.
struct Sparse24Choice {
    bool sparse = true;
    double sparse_us = 0, dense_us = 0;  // median decode-step times; 0 when forced
    std::string reason;                  // "measured" or "TERN_SPARSE24_PATH=..."
};

// Builds both candidates from the blocks and keeps the faster: exactly one of
// `sparse` / `dense` is set on return.
Sparse24Choice choose_sparse24_path(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name,
                                    std::unique_ptr<Sparse24Weights>& sparse, std::unique_ptr<W8A8Matrix>& dense);

}  // namespace tern::ops
