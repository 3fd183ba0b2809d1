#pragma once
// Dense little-endian bit fields: field i of width `bits` (1..8) occupies bits
// [i*bits, i*bits + bits) of the byte array, least significant bit first. So
// 4-bit fields put element 2k in the low nibble of byte k, and 3-bit fields put
// 8 elements in 3 bytes, 6-bit fields 4 elements in 3 bytes.
#include <cstdint>

namespace tern {

// `dst` must be zeroed beforehand; `value` must fit in `bits`.
inline void put_bits(uint8_t* dst, int bits, int64_t i, uint32_t value) {
    const int64_t pos = i * bits;
    const int64_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    dst[byte] = static_cast<uint8_t>(dst[byte] | (value << shift));
    if (shift + bits > 8) dst[byte + 1] = static_cast<uint8_t>(dst[byte + 1] | (value >> (8 - shift)));
}

// Reads the next byte only when the field crosses into it, never past the array.
inline uint32_t get_bits(const uint8_t* src, int bits, int64_t i) {
    const int64_t pos = i * bits;
    const int64_t byte = pos >> 3;
    const int shift = static_cast<int>(pos & 7);
    uint32_t word = src[byte];
    if (shift + bits > 8) word |= static_cast<uint32_t>(src[byte + 1]) << 8;
    return (word >> shift) & ((1u << bits) - 1);
}

// Two's complement `bits`-wide field <-> int.
inline uint32_t to_twos_complement(int v, int bits) { return static_cast<uint32_t>(v) & ((1u << bits) - 1); }
inline int from_twos_complement(uint32_t field, int bits) {
    const int v = static_cast<int>(field);
    return (field >> (bits - 1)) & 1 ? v - (1 << bits) : v;
}

}  // namespace tern
