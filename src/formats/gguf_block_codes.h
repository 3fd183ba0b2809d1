#pragma once
// GGUF block types seen as grids of integer codes under per-block scales, for
// methods that choose the codes themselves (GPTQ): fit a block's scales with
// the format's reference quantizer, then read or replace its codes while the
// stored scales stay as they are. Codes are in element order, 0..max_code,
// and decode exactly as the format's own dequantizer says (q4_0: d × (q - 8),
// q3_k: d × s × (q - 4), q4_k: d × s × q - dmin × m, ...).
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace tern {

struct GgufBlockCodec {
    DType type;
    int block;         // elements per block (32, or the K-quants' 256)
    int sub_block;     // elements sharing one scale (and min)
    int max_code;      // codes are 0..max_code
    size_t block_bytes;
    // ggml's reference quantizer and dequantizer on one block.
    void (*quantize)(const float* x, uint8_t* block);
    void (*dequantize)(const uint8_t* block, float* y);
    // The block's codes, in element order; set_codes keeps its scales.
    void (*get_codes)(const uint8_t* block, uint8_t* codes);
    void (*set_codes)(uint8_t* block, const uint8_t* codes);
};

// q4_0, q4_1, q2_k, q3_k, q4_k, q5_k, q6_k; nullptr for any other type.
const GgufBlockCodec* gguf_block_codec(DType type);

}  // namespace tern
