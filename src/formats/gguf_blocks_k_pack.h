#pragma once
// Bit packing of the K-quant super-blocks (internal to formats/gguf_blocks_k*.cpp
// and gguf_blocks_imatrix.cpp): the same layouts whichever search chose the codes.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "formats/gguf_blocks.h"

namespace tern::gguf_k {

// Packs 256 2-bit values: byte l of each 32-byte group holds elements
// l, l+32, l+64, l+96 of its 128-element half in bits 0-1, 2-3, 4-5, 6-7.
template <class T>
void pack_2bit(const T* L, uint8_t* qs) {
    for (int j = 0; j < kQK_K; j += 128)
        for (int l = 0; l < 32; ++l)
            qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                                 (L[j + l + 96] << 6));
}

// q4_K/q5_K: 8 (scale, min) pairs of 6 bits in 12 bytes. Pairs 0-3 use the
// low 6 bits of bytes 0-3 (scale) and 4-7 (min); pairs 4-7 keep their low
// nibbles in bytes 8-11 and their top 2 bits in bits 6-7 of bytes 0-7.
inline void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* scales) {
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            scales[j] = ls[j];
            scales[j + 4] = lm[j];
        } else {
            scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
            scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
        }
    }
}

// q3_K: 16 6-bit scales in 12 bytes. Low nibbles: scales 0-7 in the low and
// 8-15 in the high nibble of bytes 0-7; top 2 bits of scale j at bits
// 2*(j/4) of byte 8 + j%4.
inline void pack_scales_q3(const int* ls, uint8_t* scales) {
    std::memset(scales, 0, kKScaleBytes);
    for (int j = 0; j < 16; ++j) {
        const int l = ls[j];
        if (j < 8)
            scales[j] = static_cast<uint8_t>(l & 0xF);
        else
            scales[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
}

inline int unpack_scale_q3(const uint8_t* scales, int j) {
    const int lo = j < 8 ? scales[j] & 0xF : scales[j - 8] >> 4;
    const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

// q3_K's codes L (0..7, modified in place): the high bit of quant j goes to
// bit (j / 32) of hmask[j % 32], the low two bits to qs.
inline void pack_q3_codes(int8_t* L, uint8_t* hmask, uint8_t* qs) {
    std::memset(hmask, 0, kQK_K / 8);
    for (int j = 0; j < kQK_K; ++j) {
        if (L[j] > 3) {
            hmask[j % 32] |= static_cast<uint8_t>(1u << (j / 32));
            L[j] = static_cast<int8_t>(L[j] - 4);
        }
    }
    pack_2bit(L, qs);
}

// q4_K: byte l of each 32-byte group holds element l (low nibble) and l+32 (high) of its 64.
inline void pack_q4_codes(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < kQK_K; j += 64, qs += 32)
        for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
}

// q5_K: q4_K's nibbles; bit 4 of element n+j (n = 64*g) goes to bit 2g of
// qh[j], of element n+j+32 to bit 2g+1.
inline void pack_q5_codes(const uint8_t* L, uint8_t* qh, uint8_t* ql) {
    std::memset(qh, 0, kQK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < kQK_K; n += 64, ql += 32) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j];
            if (l1 > 15) {
                l1 -= 16;
                qh[j] |= m1;
            }
            int l2 = L[n + j + 32];
            if (l2 > 15) {
                l2 -= 16;
                qh[j] |= m2;
            }
            ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
        }
        m1 = static_cast<uint8_t>(m1 << 2);
        m2 = static_cast<uint8_t>(m2 << 2);
    }
}

// q4_K/q5_K: the codes of x (256) under the block's stored scales and mins,
// nearest in [0, nmax]; sub-blocks whose scale is 0 keep the codes given.
template <class Block>
void codes_under_scale_min_k4(const Block& y, const float* x, int nmax, uint8_t* L) {
    for (int j = 0; j < 8; ++j) {
        uint8_t sc, m;
        unpack_scale_min_k4(j, y.scales, &sc, &m);
        const float d = fp16_to_fp32(y.d) * static_cast<float>(sc);
        if (d == 0.0f) continue;
        const float dm = fp16_to_fp32(y.dmin) * static_cast<float>(m);
        for (int ii = 0; ii < 32; ++ii)
            L[32 * j + ii] = static_cast<uint8_t>(std::clamp(nearest_int_rne((x[32 * j + ii] + dm) / d), 0, nmax));
    }
}

}  // namespace tern::gguf_k
