#pragma once
// Canonical Huffman coding of small alphabets (<= 65536 symbols), as Deep
// Compression stores its weight codes and index gaps. A code is described by
// its code lengths alone (0 = symbol unused); codes are assigned in order of
// (length, symbol), so a file stores one byte per symbol, not the tree.
// Bits are written most significant first within each byte.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tern::io {

// Longest code written; lengths above it are refused when decoding.
constexpr int kHuffmanMaxBits = 24;

// Code lengths for these symbol counts (optimal up to the length limit;
// frequencies are flattened until the limit holds). Symbols with count 0 get
// length 0; a single used symbol gets length 1.
std::vector<uint8_t> huffman_code_lengths(std::span<const uint64_t> counts);

// Packs `symbols` with the canonical code of `lengths`; every symbol must
// have a nonzero length.
std::vector<uint8_t> huffman_encode(std::span<const uint32_t> symbols, std::span<const uint8_t> lengths);

// Bits huffman_encode writes for these symbols (sizes without encoding).
uint64_t huffman_encoded_bits(std::span<const uint32_t> symbols, std::span<const uint8_t> lengths);

// Decodes exactly `count` symbols. Throws InputError(where, ...) when the
// lengths are not a prefix code (Kraft sum above 1, a length above
// kHuffmanMaxBits, no used symbol), when the stream ends early, or when a bit
// pattern is no symbol's code.
std::vector<uint32_t> huffman_decode(std::span<const uint8_t> bytes, std::span<const uint8_t> lengths, uint64_t count,
                                     const std::string& where);

}  // namespace tern::io
