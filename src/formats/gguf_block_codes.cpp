// The code layouts of the GGUF block types (the inverse of the packing in
// formats/gguf_blocks_legacy.cpp and gguf_blocks_k.cpp), so a caller can put
// codes of its own choosing under the scales ggml's quantizer fitted.
#include "formats/gguf_block_codes.h"

#include <cstring>

#include "formats/gguf_blocks.h"

namespace tern {
namespace {

// Legacy q4_0 / q4_1: byte j holds element j (low nibble) and j + 16 (high).
void get_nibbles32(const uint8_t* qs, uint8_t* c) {
    for (int j = 0; j < 16; ++j) {
        c[j] = qs[j] & 0xF;
        c[j + 16] = static_cast<uint8_t>(qs[j] >> 4);
    }
}
void set_nibbles32(uint8_t* qs, const uint8_t* c) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(c[j] | (c[j + 16] << 4));
}

// K-quants' 2-bit planes: byte l of each 32-byte group holds elements l,
// l+32, l+64, l+96 of its 128-element half in bits 0-1, 2-3, 4-5, 6-7.
void get_2bit(const uint8_t* qs, uint8_t* c) {
    for (int j = 0; j < kQK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            for (int k = 0; k < 4; ++k) c[j + l + 32 * k] = (qs[j / 4 + l] >> (2 * k)) & 3;
}
void set_2bit(uint8_t* qs, const uint8_t* c) {
    for (int j = 0; j < kQK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = static_cast<uint8_t>(c[j + l] | (c[j + l + 32] << 2) | (c[j + l + 64] << 4) |
                                                 (c[j + l + 96] << 6));
}

// q4_K / q5_K low nibbles: byte l of each 32-byte group holds element l (low)
// and l + 32 (high) of its 64.
void get_nibbles256(const uint8_t* qs, uint8_t* c) {
    for (int j = 0; j < kQK_K; j += 64, qs += 32)
        for (int l = 0; l < 32; ++l) {
            c[j + l] = qs[l] & 0xF;
            c[j + l + 32] = static_cast<uint8_t>(qs[l] >> 4);
        }
}
void set_nibbles256(uint8_t* qs, const uint8_t* c) {
    for (int j = 0; j < kQK_K; j += 64, qs += 32)
        for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>((c[j + l] & 0xF) | ((c[j + l + 32] & 0xF) << 4));
}

template <class Block>
const Block& as(const uint8_t* p) {
    return *reinterpret_cast<const Block*>(p);
}
template <class Block>
Block& as(uint8_t* p) {
    return *reinterpret_cast<Block*>(p);
}

void q4_0_get(const uint8_t* b, uint8_t* c) { get_nibbles32(as<BlockQ4_0>(b).qs, c); }
void q4_0_set(uint8_t* b, const uint8_t* c) { set_nibbles32(as<BlockQ4_0>(b).qs, c); }
void q4_1_get(const uint8_t* b, uint8_t* c) { get_nibbles32(as<BlockQ4_1>(b).qs, c); }
void q4_1_set(uint8_t* b, const uint8_t* c) { set_nibbles32(as<BlockQ4_1>(b).qs, c); }
void q2_k_get(const uint8_t* b, uint8_t* c) { get_2bit(as<BlockQ2_K>(b).qs, c); }
void q2_k_set(uint8_t* b, const uint8_t* c) { set_2bit(as<BlockQ2_K>(b).qs, c); }
void q4_k_get(const uint8_t* b, uint8_t* c) { get_nibbles256(as<BlockQ4_K>(b).qs, c); }
void q4_k_set(uint8_t* b, const uint8_t* c) { set_nibbles256(as<BlockQ4_K>(b).qs, c); }

// q3_K: the low 2 bits in 2-bit planes, bit 2 of element j at bit j / 32 of hmask[j % 32].
void q3_k_get(const uint8_t* b, uint8_t* c) {
    const BlockQ3_K& y = as<BlockQ3_K>(b);
    get_2bit(y.qs, c);
    for (int j = 0; j < kQK_K; ++j) c[j] = static_cast<uint8_t>(c[j] | (((y.hmask[j % 32] >> (j / 32)) & 1) << 2));
}
void q3_k_set(uint8_t* b, const uint8_t* c) {
    BlockQ3_K& y = as<BlockQ3_K>(b);
    uint8_t low[kQK_K];
    std::memset(y.hmask, 0, sizeof(y.hmask));
    for (int j = 0; j < kQK_K; ++j) {
        low[j] = c[j] & 3;
        if (c[j] & 4) y.hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
    }
    set_2bit(y.qs, low);
}

// q5_K: q4_K's nibbles, bit 4 of element 64g + l at bit 2g of qh[l], of 64g + l + 32 at bit 2g + 1.
void q5_k_get(const uint8_t* b, uint8_t* c) {
    const BlockQ5_K& y = as<BlockQ5_K>(b);
    get_nibbles256(y.qs, c);
    for (int g = 0; g < 4; ++g)
        for (int l = 0; l < 32; ++l) {
            c[64 * g + l] = static_cast<uint8_t>(c[64 * g + l] | (((y.qh[l] >> (2 * g)) & 1) << 4));
            c[64 * g + l + 32] = static_cast<uint8_t>(c[64 * g + l + 32] | (((y.qh[l] >> (2 * g + 1)) & 1) << 4));
        }
}
void q5_k_set(uint8_t* b, const uint8_t* c) {
    BlockQ5_K& y = as<BlockQ5_K>(b);
    set_nibbles256(y.qs, c);
    std::memset(y.qh, 0, sizeof(y.qh));
    for (int g = 0; g < 4; ++g)
        for (int l = 0; l < 32; ++l)
            y.qh[l] = static_cast<uint8_t>(y.qh[l] | (((c[64 * g + l] >> 4) & 1) << (2 * g)) |
                                           (((c[64 * g + l + 32] >> 4) & 1) << (2 * g + 1)));
}

// q6_K, per 128 elements: low nibbles of l and l + 64 in ql[l], of l + 32 and
// l + 96 in ql[l + 32]; the top 2 bits of l, l+32, l+64, l+96 in qh[l].
void q6_k_get(const uint8_t* b, uint8_t* c) {
    const BlockQ6_K& y = as<BlockQ6_K>(b);
    const uint8_t* ql = y.ql;
    const uint8_t* qh = y.qh;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; ++l) {
            c[j + l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
            c[j + l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
            c[j + l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
            c[j + l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
        }
}
void q6_k_set(uint8_t* b, const uint8_t* c) {
    BlockQ6_K& y = as<BlockQ6_K>(b);
    uint8_t* ql = y.ql;
    uint8_t* qh = y.qh;
    for (int j = 0; j < kQK_K; j += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; ++l) {
            const int q1 = c[j + l], q2 = c[j + l + 32], q3 = c[j + l + 64], q4 = c[j + l + 96];
            ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
            ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
            qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
        }
}

template <class Block, void (*Q)(const float*, Block*, int64_t), int N>
void quantize_one(const float* x, uint8_t* b) {
    Q(x, reinterpret_cast<Block*>(b), N);
}
template <class Block, void (*D)(const Block*, float*, int64_t), int N>
void dequantize_one(const uint8_t* b, float* y) {
    D(reinterpret_cast<const Block*>(b), y, N);
}

#define TERN_CODEC(dt, Block, qname, N, SUB, TOP)                                                          \
    GgufBlockCodec {                                                                                           \
        .type = DType::dt, .block = N, .sub_block = SUB, .max_code = TOP, .block_bytes = sizeof(Block),   \
        .quantize = quantize_one<Block, quantize_row_##qname, N>,                                              \
        .dequantize = dequantize_one<Block, dequantize_row_##qname, N>, .get_codes = dt##_get,                 \
        .set_codes = dt##_set                                                                                  \
    }

const GgufBlockCodec kCodecs[] = {
    TERN_CODEC(q4_0, BlockQ4_0, q4_0, kQK4_0, 32, 15), TERN_CODEC(q4_1, BlockQ4_1, q4_1, kQK4_1, 32, 15),
    TERN_CODEC(q2_k, BlockQ2_K, q2_K, kQK_K, 16, 3),   TERN_CODEC(q3_k, BlockQ3_K, q3_K, kQK_K, 16, 7),
    TERN_CODEC(q4_k, BlockQ4_K, q4_K, kQK_K, 32, 15),  TERN_CODEC(q5_k, BlockQ5_K, q5_K, kQK_K, 32, 31),
    TERN_CODEC(q6_k, BlockQ6_K, q6_K, kQK_K, 16, 63),
};
#undef TERN_CODEC

}  // namespace

const GgufBlockCodec* gguf_block_codec(DType type) {
    for (const GgufBlockCodec& c : kCodecs)
        if (c.type == type) return &c;
    return nullptr;
}

}  // namespace tern
