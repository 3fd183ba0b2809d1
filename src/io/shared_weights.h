#pragma once
// Weight-shared tensors in a safetensors file (Deep Compression's storage):
// a tensor W becomes its codebook (W.codebook, F32 [k]) and the codebook index
// of every stored weight (W.codes, U8 bitstream). A tensor with exact zeros
// (a pruned layer) stores only its nonzero weights, each after the gap of
// zeros before it (W.gaps, U8 bitstream of index_bits-wide symbols; the
// largest symbol is a filler: that many zeros and no weight). Each stream is
// packed at fixed width or Huffman coded (W.code_lengths / W.gap_lengths, one
// canonical code length per symbol). The "__metadata__" key tern.compression
// (JSON) lists the shared tensors with their shapes and counts; loading
// decodes them back to F32 tensors (decode_shared_weights).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "io/named_tensor.h"

namespace tern::io {

inline constexpr const char* kCompressionKey = "tern.compression";

struct SharedWeightSpec {
    std::string name;
    Shape shape;
    int bits = 4;         // width of a fixed-coded code; the codebook has at most 2^bits entries
    int index_bits = 0;   // 0: dense (every weight has a code); else sparse with gaps of this width
    bool huffman = false;
    int64_t weights = 0;  // codes stored (numel when dense, the nonzero weights when sparse)
    int64_t gaps = 0;     // gap symbols stored (sparse only; fillers included)
};

struct EncodedSharedWeight {
    SharedWeightSpec spec;
    std::vector<NamedTensor> tensors;  // W.codebook, W.codes, ... (owning)
    uint64_t bytes() const;            // of those tensors' data
};

// `codebook`: the shared values (nonzero when sparse); `assignment`: per
// element of the tensor (row-major) its codebook index, or -1 for an exact
// zero that is not stored (only with index_bits > 0).
EncodedSharedWeight encode_shared_weight(const std::string& name, const Shape& shape, std::span<const float> codebook,
                                         std::span<const int32_t> assignment, int bits, int index_bits, bool huffman);

// The tern.compression metadata value for these tensors.
std::string shared_weights_metadata(const std::vector<SharedWeightSpec>& specs);

// The shape a model expects for a tensor name (nullptr: no such tensor).
using ExpectedShape = std::function<const Shape*(const std::string& name)>;

// Replaces every shared tensor named by `metadata_value` (its W.* parts) by
// the decoded F32 tensor W. Each entry's shape must be what `expected` says
// (checked before anything of that size is allocated). InputError(where, ...)
// for a malformed entry, a missing part, counts that do not match the shape,
// or a bad stream.
void decode_shared_weights(std::vector<NamedTensor>& tensors, const std::string& metadata_value, const std::string& where,
                           const ExpectedShape& expected);

}  // namespace tern::io
