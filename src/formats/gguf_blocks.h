#pragma once
// GGUF quantized block formats, byte-compatible with llama.cpp / ggml.
//
// Each block is a packed struct whose layout matches ggml's on-disk layout,
// so a GGUF tensor's bytes can be reinterpreted as an array of these blocks.
// Half-precision fields are raw IEEE binary16 bit patterns (uint16_t).
//
// The quantize_row_* functions reproduce ggml's *reference* quantizers (the
// `quantize_row_<t>_ref` functions, i.e. what `ggml_quantize_chunk` writes when
// no importance matrix is given) bit for bit; dequantize_row_* reproduce ggml's
// `to_float` bit for bit. They are scalar truth for later SIMD kernels.
// `k` is the number of floats and must be a multiple of the block size.
#include <bit>
#include <cstdint>

namespace tern {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK8_1 = 32;
inline constexpr int kQK_K = 256;     // super-block size of the K-quants
inline constexpr int kKScaleBytes = 12;  // packed 6-bit scales/mins of q4_K/q5_K (and q3_K's 6-bit scales)

#pragma pack(push, 1)

// x = d * (q - 8), q in [0, 15]. qs[j] holds element j (low nibble) and j+16 (high).
struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK4_0 / 2];
};
// x = d * q + m, q in [0, 15].
struct BlockQ4_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qs[kQK4_1 / 2];
};
// x = d * (q - 16), q in [0, 31]; bit 4 of element j is bit j of qh (little endian).
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];
    uint8_t qs[kQK5_0 / 2];
};
// x = d * q + m, q in [0, 31].
struct BlockQ5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[kQK5_1 / 2];
};
// x = d * q.
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK8_0];
};
// x = d * q; s = d * sum(q) (used by q4_1/q5_1 dot products).
struct BlockQ8_1 {
    uint16_t d;
    uint16_t s;
    int8_t qs[kQK8_1];
};

// 16 sub-blocks of 16: x = d * (scales & 15) * q - dmin * (scales >> 4), q in [0, 3].
struct BlockQ2_K {
    uint8_t scales[kQK_K / 16];
    uint8_t qs[kQK_K / 4];
    uint16_t d;
    uint16_t dmin;
};
// 16 sub-blocks of 16: x = d * (s - 32) * (q - 4), 6-bit s packed in `scales`,
// low 2 bits of q in qs, high bit in hmask.
struct BlockQ3_K {
    uint8_t hmask[kQK_K / 8];
    uint8_t qs[kQK_K / 4];
    uint8_t scales[kKScaleBytes];
    uint16_t d;
};
// 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit sc/m packed in `scales`.
struct BlockQ4_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qs[kQK_K / 2];
};
// As q4_K with a fifth bit per quant in qh.
struct BlockQ5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qh[kQK_K / 8];
    uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16: x = d * scales * (q - 32), q in [0, 63].
struct BlockQ6_K {
    uint8_t ql[kQK_K / 2];
    uint8_t qh[kQK_K / 4];
    int8_t scales[kQK_K / 16];
    uint16_t d;
};
// Activation format for K-quant dot products: float scale, bsums = sums of 16 quants.
struct BlockQ8_K {
    float d;
    int8_t qs[kQK_K];
    int16_t bsums[kQK_K / 16];
};

#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Legacy 32-element blocks (formats/gguf_blocks_legacy.cpp).
void quantize_row_q4_0(const float* x, BlockQ4_0* y, int64_t k);
void quantize_row_q4_1(const float* x, BlockQ4_1* y, int64_t k);
void quantize_row_q5_0(const float* x, BlockQ5_0* y, int64_t k);
void quantize_row_q5_1(const float* x, BlockQ5_1* y, int64_t k);
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t k);
void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t k);
void dequantize_row_q4_0(const BlockQ4_0* x, float* y, int64_t k);
void dequantize_row_q4_1(const BlockQ4_1* x, float* y, int64_t k);
void dequantize_row_q5_0(const BlockQ5_0* x, float* y, int64_t k);
void dequantize_row_q5_1(const BlockQ5_1* x, float* y, int64_t k);
void dequantize_row_q8_0(const BlockQ8_0* x, float* y, int64_t k);
void dequantize_row_q8_1(const BlockQ8_1* x, float* y, int64_t k);

// K-quants, 256-element super-blocks (formats/gguf_blocks_k.cpp, gguf_blocks_k_search.cpp).
void quantize_row_q2_K(const float* x, BlockQ2_K* y, int64_t k);
void quantize_row_q3_K(const float* x, BlockQ3_K* y, int64_t k);
void quantize_row_q4_K(const float* x, BlockQ4_K* y, int64_t k);
void quantize_row_q5_K(const float* x, BlockQ5_K* y, int64_t k);
void quantize_row_q6_K(const float* x, BlockQ6_K* y, int64_t k);
void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t k);
void dequantize_row_q2_K(const BlockQ2_K* x, float* y, int64_t k);
void dequantize_row_q3_K(const BlockQ3_K* x, float* y, int64_t k);
void dequantize_row_q4_K(const BlockQ4_K* x, float* y, int64_t k);
void dequantize_row_q5_K(const BlockQ5_K* x, float* y, int64_t k);
void dequantize_row_q6_K(const BlockQ6_K* x, float* y, int64_t k);
void dequantize_row_q8_K(const BlockQ8_K* x, float* y, int64_t k);

// Unpacks the 6-bit (scale, min) pair of sub-block j (0..7) from q4_K/q5_K `scales`.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// ggml's nearest_int: adding 1.5 * 2^23 puts the integer part in the low
// mantissa bits, so the FPU's round-to-nearest-even does the rounding. Only
// valid for |v| <= 2^22 - 1, but reproduced as-is so out-of-range inputs give
// the same (meaningless) codes as ggml.
inline int nearest_int_rne(float v) {
    const float biased = v + 12582912.0f;
    return static_cast<int>(std::bit_cast<uint32_t>(biased) & 0x007fffffu) - 0x00400000;
}

}  // namespace tern
