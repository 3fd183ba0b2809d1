#pragma once
// GPTQ (Frantar et al., 2210.17323): quantizes a Linear's weight W (rows =
// output features, cols = input features) column by column and spreads each
// column's rounding error over the columns not yet quantized, weighted by the
// inverse of the input Hessian H = X^T X from calibration, so that the layer's
// output X W^T moves as little as the grid allows.
//
// As in the paper's reference code: dead inputs (H_ii = 0) are zeroed, H is
// dampened by `damp` × mean(diag H), the upper Cholesky factor of H^-1 drives
// the updates, columns are processed in blocks of `block` with one lazy update
// of the remaining columns per block, and with act_order the columns go in
// order of decreasing H_ii. Group parameters are fitted when the first column
// of a group is reached (from the weights as updated so far); with act_order
// they are fitted up front from the original weights ("static groups"), so
// the groups stay contiguous in the stored layout. All arithmetic is f64.
#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.h"

namespace tern::quant {

// A group-wise integer grid, the one tern's int<bits>_asym_g<group> formats
// store: per row and group of `group` columns, an fp16 scale d and an integer
// zero point z in [0, 2^bits - 1]; the range includes 0; a weight is
// d × (q - z) with q in [0, 2^bits - 1].
struct IntGroupGrid {
    int bits = 4;
    int64_t group = 128;
};

// A GGUF block type's grid (q4_0, q4_1, q2_k, q3_k, q4_k, q5_k, q6_k; see
// formats/gguf_block_codes.h): per row and format block (32 weights, or the
// K-quants' 256) the scales and mins ggml's reference quantizer fits from the
// block's weights as GPTQ has updated them, as the file stores them (fp16,
// 6-bit sub-block scales); each weight then takes the nearest value its
// sub-block can decode to, so the packed blocks are a standard GGUF tensor.
struct GgufBlockGrid {
    DType type = DType::q4_k;
};

struct GptqOptions {
    double damp = 0.01;     // fraction of mean(diag H) added to the diagonal
    int64_t block = 128;    // columns per lazy-update block
    bool act_order = false;
};

struct GptqResult {
    int64_t rows = 0, cols = 0;
    std::vector<uint8_t> codes;     // (rows, cols) q
    std::vector<uint16_t> scales;   // (rows, cols / group) fp16 bits of d
    std::vector<uint8_t> zeros;     // (rows, cols / group) z
    std::vector<float> dequantized; // (rows, cols) d × (q - z), or what the GGUF blocks decode to
    std::vector<uint8_t> blocks;    // GGUF grids: (rows, cols / block) blocks, the tensor's bytes
    // The paper's proxy loss: sum over columns of (w - q)² / (2 [H^-1]_jj²).
    double proxy_loss = 0;
    // Dampening that made H positive definite (> damp when the requested one
    // was not enough; tern::quant raises it by 10× up to 3 times).
    double damp_used = 0;
    int64_t dead_inputs = 0;        // columns with H_jj = 0 (zeroed)
};

// w: (rows, cols) row-major; hessian: (cols, cols) row-major, any positive
// multiple of X^T X. cols must be a multiple of grid.group. InputError on
// shapes, non-finite input or a Hessian that stays indefinite.
GptqResult gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                         const IntGroupGrid& grid, const GptqOptions& options = {});

// The same on a GGUF block grid (scales and codes, no zeros; cols a multiple
// of the format's block); InputError for a type without a block codec.
GptqResult gptq_quantize(std::span<const float> w, int64_t rows, int64_t cols, std::span<const double> hessian,
                         const GgufBlockGrid& grid, const GptqOptions& options = {});

// Round to nearest on the same grid (the baseline GPTQ is measured against);
// on a GGUF grid that is the format's own quantizer, what `--method rtn` writes.
GptqResult rtn_group_quantize(std::span<const float> w, int64_t rows, int64_t cols, const IntGroupGrid& grid);
GptqResult rtn_group_quantize(std::span<const float> w, int64_t rows, int64_t cols, const GgufBlockGrid& grid);

// The layer-output error tr((W - Q) H (W - Q)^T) / tr(W H W^T): what GPTQ
// minimises, relative, for comparing grids and methods on calibration data.
double relative_output_error(std::span<const float> w, std::span<const float> q, int64_t rows, int64_t cols,
                             std::span<const double> hessian);

}  // namespace tern::quant
