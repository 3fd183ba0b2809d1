#pragma once
// Importance-weighted GGUF block quantizers: what llama.cpp's quantize_q*
// writes when given an importance matrix (llama-quantize --imatrix), bit for bit.
//
// x is ONE row of k floats (k a multiple of the block size) and importance its
// k per-column weights (llama.cpp: the mean x^2 of that input column over the
// calibration tokens). The weight of element j in each least-squares fit is
// importance_j * sqrt(sigma2 + x_j^2), sigma2 the row's (legacy) or
// super-block's (K-quants) mean square. A null importance gives the reference
// quantizer of gguf_blocks.h, byte for byte.
#include <cstdint>

#include "formats/format.h"
#include "formats/gguf_blocks.h"

namespace tern {

void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k, const float* importance);
void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t k, const float* importance);
void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t k, const float* importance);
void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t k, const float* importance);
void quantize_row_q2_K(const float* x, BlockQ2_K* y, int64_t k, const float* importance);
void quantize_row_q3_K(const float* x, BlockQ3_K* y, int64_t k, const float* importance);
void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t k, const float* importance);
void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t k, const float* importance);
void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t k, const float* importance);

// One row of `fmt` with importance weights: out gets fmt.bytes_for(k) bytes.
// False (nothing written) when fmt has no weighted quantizer (q8_0 and
// non-GGUF formats: llama.cpp ignores the imatrix for them too).
bool has_weighted_quantizer(const FormatDescriptor& fmt);
bool quantize_row_weighted(const FormatDescriptor& fmt, const float* x, uint8_t* out, int64_t k,
                           const float* importance);

}  // namespace tern
