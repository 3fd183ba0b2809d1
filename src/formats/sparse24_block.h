#pragma once
// tern's 2:4 sparse int8 storage (core/storage_types.h row sparse24_q8): of
// every 4 consecutive weights of a row at most 2 are nonzero (a 2:4-pruned
// Linear), and only those 2 are stored, as int8 codes with one scale per row.
// Laid out as blocks of 128 weights so every reader that walks a tensor's
// bytes (GGUF, codecs, the non-finite scan) needs no special case:
//   float   d;        // the row's scale: w ~= q * d (every block of a row holds the same d)
//   uint8_t pos[16];  // group g (weights 4g..4g+3): (p0 | p1 << 2) in the low nibble
//                     // of byte g / 2 for even g, the high nibble for odd g; p0 < p1
//   int8_t  qs[64];   // group g keeps qs[2g] at 4g + p0 and qs[2g + 1] at 4g + p1
// 84 bytes per 128 weights (5.25 bits per weight; q8_0 and w8a8 8.5). The codes
// are exactly w8a8's (row absmax / 127, round half to even), so a sparse24_q8
// tensor and the w8a8 tensor of the same weights hold the same numbers, and
// the pos / qs bytes of a row are the kernels' Sparse24S8 layout as they are.
// llama.cpp cannot load it (a tern-private ggml type id).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/format.h"

namespace tern {

struct Sparse24Block {
    float d;
    uint8_t pos[16];
    int8_t qs[64];
};
static_assert(sizeof(Sparse24Block) == 84);

inline constexpr int kSparse24Group = 128;

// One row of n (a multiple of 128) weights to blocks. A group of 4 with more
// than 2 nonzeros keeps its 2 largest |w| (ties: the lower column): the codec
// is lossy like any format; `tern quantize` stores only tensors that already
// are 2:4 sparse this way (row_is_2of4_sparse), others as w8a8.
void sparse24_quantize_row(const float* x, uint8_t* out, int64_t n);

// Whether every group of 4 of x (n a multiple of 4) has at most 2 nonzeros.
bool row_is_2of4_sparse(const float* x, int64_t n);

// A sparse24_q8 tensor's bytes taken apart for the runtime, in the kernels' layout.
struct Sparse24Unpacked {
    std::vector<int8_t> codes;      // (N, K / 2) kept codes, in [-127, 127]
    std::vector<uint8_t> pos;       // (N, K / 8) position nibbles
    std::vector<float> row_scales;  // (N)
};
// blocks: N * K / 128 blocks. InputError naming `name` (the file and tensor)
// when K is not a multiple of 128, a scale is negative or not finite, a row's
// blocks disagree on the scale, a group's positions are not p0 < p1, or a code
// is -128 (a hand-edited or damaged file).
Sparse24Unpacked unpack_sparse24(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name);

// The dense (N, K) int8 codes of an unpacked tensor (zeros at pruned weights).
std::vector<int8_t> sparse24_dense_codes(const Sparse24Unpacked& u, int64_t n, int64_t k);

// The sparse24_q8 storage type's codec (formats registry).
std::span<const FormatDescriptor> sparse24_formats();

}  // namespace tern
