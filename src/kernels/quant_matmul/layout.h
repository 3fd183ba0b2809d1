#pragma once
// The packed tile layout shared by pack.cpp, the scalar kernels and the SIMD
// kernels. A tile is 16 weight rows × all k. Codes are unsigned; for every
// 32 k ("chunk") a tile stores `lo` low planes then `hi` high planes of 64 bytes.
// Byte 4·n + i of a plane (n = row 0..15, i = 0..3) holds k-quad fields: quad q
// (k = 4q + i within the chunk) is field q / lo of low plane q % lo, bits
// [f·lo, f·lo + lo), and field q / hi of high plane q % hi, giving code bits
// [lo, lo + hi). One plane load + shift + mask is then 16 rows × 4 k of u8, the
// operand of vpdpbusd, and AVX2 reads the two 32-byte halves (rows 0-7, 8-15).
// q6_K (`whole6`) places its 6-bit codes differently, so that half the quads
// decode with one mask instead of two loads, two shifts, two masks and an or:
// plane p < 4 holds quad p whole in bits 0-5 and bits 4-5 of quad p + 4 in bits
// 6-7; plane 4 + m holds bits 0-3 of quad 4 + m (low nibble) and of quad 6 + m
// (high nibble). Same six planes, same bytes.
//
// Legacy types and int4, per group of G = 32 (int4: 32/64/128):
//   d    fp16[16]                      scale per row
//   z    u8[16]       (int4 only)      zero point per row
//   m    fp16[16]     (q4_1, q5_1)     min per row
//   G/32 chunks
//   x = d·(u − off) (q4_0/q5_0/q8_0), d·(u − z) (int4), d·u + m (q4_1/q5_1).
// K-quants, per 256 super-block with sub-blocks of S = 16 or 32:
//   D    fp16[16]
//   Dmin fp16[16]     (asym types: q2_K, q4_K, q5_K)
//   sc   s8[nsub/2][16][2]   sub-block scale pairs (sub 2p, 2p+1) per row
//   mn   s8[nsub/2][16][2]   (asym) sub-block mins, same pair layout
//   8 chunks
//   asym: x = D·sc·u − Dmin·mn;  sym: x = D·sc·(u − off) (q3_K off 4, q6_K off 32).
// q4_K and q5_K (asym, S = 32) keep their 6-bit scales and mins at 6 bits, as
// GGUF does, so a tile streams no more bytes than the GGUF rows (decode is
// bound by those bytes; 8-bit fields made q4_K 2.8 % larger). Instead of sc, mn:
//   lo   u8[4][16][2]   pair layout; bits 0-3 the scale's low 4 bits, 4-7 the min's
//   hi   u8[2][16][2]   pair layout for pairs 2h, 2h+1: bits 0-1 scale and 2-3 min
//                        high bits of pair 2h, bits 4-5 and 6-7 of pair 2h+1
#include <cstdint>

#include "kernels/quant_matmul/quant_matmul.h"

namespace tern::qmm {

enum class Corr : uint8_t {
    offset,      // subtract a constant code offset (integer)
    zero_point,  // subtract a per-row u8 zero point (integer)
    min_f16,     // add a per-row fp16 min (float)
    k_asym,      // K-quant with D, Dmin, sc, mn
    k_sym,       // K-quant with D, sc and a constant offset
};

struct Layout {
    int lo, hi;   // code bits in low / high planes
    Corr corr;
    int off;      // constant code offset (offset, k_sym)
    int sub;      // K-quants: sub-block size (16 or 32)
    bool whole6 = false;  // q6_K's placement (top of this file); lo = 4, hi = 2
};

constexpr Layout layout_of(QuantType t) {
    switch (t) {
        case QuantType::q4_0: return {4, 0, Corr::offset, 8, 0};
        case QuantType::q4_1: return {4, 0, Corr::min_f16, 0, 0};
        case QuantType::q5_0: return {4, 1, Corr::offset, 16, 0};
        case QuantType::q5_1: return {4, 1, Corr::min_f16, 0, 0};
        case QuantType::q8_0: return {8, 0, Corr::offset, 128, 0};
        case QuantType::q2_k: return {2, 0, Corr::k_asym, 0, 16};
        case QuantType::q3_k: return {2, 1, Corr::k_sym, 4, 16};
        case QuantType::q4_k: return {4, 0, Corr::k_asym, 0, 32};
        case QuantType::q5_k: return {4, 1, Corr::k_asym, 0, 32};
        case QuantType::q6_k: return {4, 2, Corr::k_sym, 32, 16, true};
        case QuantType::int4_asym: return {4, 0, Corr::zero_point, 0, 0};
        case QuantType::count_: break;
    }
    return {0, 0, Corr::offset, 0, 0};
}

constexpr bool is_k(Corr c) { return c == Corr::k_asym || c == Corr::k_sym; }
// Scales and mins stored at 6 bits (see the top of this file).
constexpr bool six_bit_scales(const Layout& l) { return l.corr == Corr::k_asym && l.sub == 32; }
constexpr int chunk_bytes(const Layout& l) { return (l.lo + l.hi) * 64; }

// Header bytes of one legacy group or one K super-block (tile of 16 rows).
constexpr int header_bytes(const Layout& l) {
    switch (l.corr) {
        case Corr::offset: return 32;
        case Corr::zero_point: return 32 + 16;
        case Corr::min_f16: return 64;
        case Corr::k_asym: return six_bit_scales(l) ? 64 + 128 + 64 : 64 + 2 * (256 / l.sub) * 16;
        case Corr::k_sym: return 32 + (256 / l.sub) * 16;
    }
    return 0;
}

// Bytes of one legacy group (G elements) or one K super-block, for a tile.
constexpr int64_t unit_bytes(const Layout& l, int group) {
    const int elems = is_k(l.corr) ? 256 : group;
    return header_bytes(l) + static_cast<int64_t>(elems / 32) * chunk_bytes(l);
}

// Offset of the first scale byte in a K unit (after D, and Dmin if asym).
constexpr int k_scales_offset(const Layout& l) { return l.corr == Corr::k_asym ? 64 : 32; }
// Byte of sub-block s, row n in a pair-layout array.
constexpr int pair_index(int n, int s) { return (s / 2) * 32 + n * 2 + (s & 1); }

// Sub-block s's scale and min of row n in a K unit (min 0 for sym types).
inline int k_scale(const Layout& l, const uint8_t* unit, int n, int s) {
    const uint8_t* p = unit + k_scales_offset(l);
    if (six_bit_scales(l)) {
        const int hi = p[128 + pair_index(n, (s / 4) * 2 + (s & 1))] >> ((s / 2) % 2 * 4);
        return (p[pair_index(n, s)] & 15) | ((hi & 3) << 4);
    }
    return static_cast<int8_t>(p[pair_index(n, s)]);
}
inline int k_min(const Layout& l, const uint8_t* unit, int n, int s) {
    if (l.corr != Corr::k_asym) return 0;
    const uint8_t* p = unit + k_scales_offset(l);
    if (six_bit_scales(l)) {
        const int hi = p[128 + pair_index(n, (s / 4) * 2 + (s & 1))] >> ((s / 2) % 2 * 4 + 2);
        return (p[pair_index(n, s)] >> 4) | ((hi & 3) << 4);
    }
    return static_cast<int8_t>(p[pair_index(n, s) + (256 / l.sub) * 16]);
}
// Stores them (the unit's scale bytes must start zeroed).
inline void put_k_scale_min(const Layout& l, uint8_t* unit, int n, int s, int sc, int mn) {
    uint8_t* p = unit + k_scales_offset(l);
    if (six_bit_scales(l)) {
        p[pair_index(n, s)] = static_cast<uint8_t>((sc & 15) | ((mn & 15) << 4));
        p[128 + pair_index(n, (s / 4) * 2 + (s & 1))] |=
            static_cast<uint8_t>((((sc >> 4) & 3) | (((mn >> 4) & 3) << 2)) << ((s / 2) % 2 * 4));
        return;
    }
    p[pair_index(n, s)] = static_cast<uint8_t>(sc);
    if (l.corr == Corr::k_asym) p[pair_index(n, s) + (256 / l.sub) * 16] = static_cast<uint8_t>(mn);
}

// Byte offset and bit position of code (row n, k-in-chunk kk) inside a chunk.
struct CodePos {
    int byte, shift;
};
constexpr CodePos low_pos(const Layout& l, int n, int kk) {
    const int q = kk / 4, i = kk % 4;
    return {(q % l.lo) * 64 + n * 4 + i, (q / l.lo) * l.lo};
}
constexpr CodePos high_pos(const Layout& l, int n, int kk) {
    const int q = kk / 4, i = kk % 4;
    return {(l.lo + q % l.hi) * 64 + n * 4 + i, (q / l.hi) * l.hi};
}

// The unsigned code of row n, k-in-chunk kk: the scalar reader of every layout.
inline int code_at(const Layout& l, const uint8_t* chunk, int n, int kk) {
    const int q = kk / 4, i = kk % 4;
    if (l.whole6) {
        if (q < 4) return chunk[q * 64 + n * 4 + i] & 63;
        const int nib = (chunk[(4 + q % 2) * 64 + n * 4 + i] >> (4 * ((q - 4) / 2))) & 15;
        return nib | ((chunk[(q - 4) * 64 + n * 4 + i] >> 6) << 4);
    }
    const CodePos lp = low_pos(l, n, kk);
    int u = (chunk[lp.byte] >> lp.shift) & ((1 << l.lo) - 1);
    if (l.hi) {
        const CodePos hp = high_pos(l, n, kk);
        u |= ((chunk[hp.byte] >> hp.shift) & ((1 << l.hi) - 1)) << l.lo;
    }
    return u;
}

}  // namespace tern::qmm
