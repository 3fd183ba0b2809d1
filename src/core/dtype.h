#pragma once
// Storage types of tensor elements. Plain types have block size 1; block
// formats (the GGUF quantized blocks, tern's group-wise ints) store
// `block_size` elements in `block_bytes` bytes. The types and their facts are
// one table (core/storage_types.h); the numeric encode/decode of each lives in
// formats/.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/storage_types.h"

namespace tern {

using DTypeInfo = StorageType;

// Throws on an invalid enumerator.
const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes needed for `n` elements; n must be a multiple of the block size.
size_t dtype_bytes_for(DType t, uint64_t n);
// Bits per element including block scales (e.g. q4_0 = 4.5).
double dtype_bits_per_element(DType t);

}  // namespace tern
