// FormatDescriptors for the GGUF block formats (llama.cpp-compatible bytes).
#include "formats/format.h"
#include "formats/gguf_blocks.h"

namespace tern {
namespace {

// Adapts a typed row quantizer/dequantizer to the descriptor's byte-buffer
// signature. Block structs are packed (alignment 1), so any byte pointer is a
// valid block pointer.
template <class Block, void (*Quantize)(const float*, Block*, int64_t)>
void quantize_bytes(const float* x, uint8_t* out, int64_t n) {
    Quantize(x, reinterpret_cast<Block*>(out), n);
}
template <class Block, void (*Dequantize)(const Block*, float*, int64_t)>
void dequantize_bytes(const uint8_t* in, float* y, int64_t n) {
    Dequantize(reinterpret_cast<const Block*>(in), y, n);
}

#define TERN_GGUF_FORMAT(name, Block, qk, fn, dtype, desc)                                             \
    FormatDescriptor {                                                                                  \
        name, "gguf", desc, qk, sizeof(Block), quantize_bytes<Block, quantize_row_##fn>,               \
            dequantize_bytes<Block, dequantize_row_##fn>, DType::dtype                                  \
    }

const FormatDescriptor kGgufFormats[] = {
    TERN_GGUF_FORMAT("q4_0", BlockQ4_0, kQK4_0, q4_0, q4_0, "llama.cpp Q4_0: 32 x 4-bit, fp16 scale (symmetric)"),
    TERN_GGUF_FORMAT("q4_1", BlockQ4_1, kQK4_1, q4_1, q4_1, "llama.cpp Q4_1: 32 x 4-bit, fp16 scale + min"),
    TERN_GGUF_FORMAT("q5_0", BlockQ5_0, kQK5_0, q5_0, q5_0, "llama.cpp Q5_0: 32 x 5-bit, fp16 scale (symmetric)"),
    TERN_GGUF_FORMAT("q5_1", BlockQ5_1, kQK5_1, q5_1, q5_1, "llama.cpp Q5_1: 32 x 5-bit, fp16 scale + min"),
    TERN_GGUF_FORMAT("q8_0", BlockQ8_0, kQK8_0, q8_0, q8_0, "llama.cpp Q8_0: 32 x int8, fp16 scale"),
    TERN_GGUF_FORMAT("q8_1", BlockQ8_1, kQK8_1, q8_1, q8_1,
                     "llama.cpp Q8_1 (activations): 32 x int8, fp16 scale + fp16 scaled sum"),
    TERN_GGUF_FORMAT("q2_k", BlockQ2_K, kQK_K, q2_K, q2_k,
                     "llama.cpp Q2_K: 256 x 2-bit, 16 sub-blocks with 4-bit scale/min"),
    TERN_GGUF_FORMAT("q3_k", BlockQ3_K, kQK_K, q3_K, q3_k, "llama.cpp Q3_K: 256 x 3-bit, 16 sub-blocks with 6-bit scales"),
    TERN_GGUF_FORMAT("q4_k", BlockQ4_K, kQK_K, q4_K, q4_k,
                     "llama.cpp Q4_K: 256 x 4-bit, 8 sub-blocks with 6-bit scale/min"),
    TERN_GGUF_FORMAT("q5_k", BlockQ5_K, kQK_K, q5_K, q5_k,
                     "llama.cpp Q5_K: 256 x 5-bit, 8 sub-blocks with 6-bit scale/min"),
    TERN_GGUF_FORMAT("q6_k", BlockQ6_K, kQK_K, q6_K, q6_k, "llama.cpp Q6_K: 256 x 6-bit, 16 sub-blocks with int8 scales"),
    TERN_GGUF_FORMAT("q8_k", BlockQ8_K, kQK_K, q8_K, q8_k,
                     "llama.cpp Q8_K (activations): 256 x int8, fp32 scale + 16-element sums"),
};

#undef TERN_GGUF_FORMAT

}  // namespace

std::span<const FormatDescriptor> gguf_formats() { return kGgufFormats; }

}  // namespace tern
