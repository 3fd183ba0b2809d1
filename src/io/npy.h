#pragma once
// NumPy .npy files (format versions 1-3): one array, little-endian, C order.
// Reading checks the header and every size against the bytes present before
// allocating, so a hostile file is one InputError naming it. dtypes: f2 f4 f8
// i1 i2 i4 i8 u1 b1 (tern's plain types).
#include <cstdint>
#include <span>
#include <string>

#include "core/tensor.h"

namespace tern {

Tensor read_npy(const std::string& path);
// Parses .npy bytes in memory; `name` is used in error messages.
Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& name);
// Writes a plain-dtype tensor as a version-1 .npy file, atomically.
void write_npy(const std::string& path, const Tensor& tensor);

}  // namespace tern
