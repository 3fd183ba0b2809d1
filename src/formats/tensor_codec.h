#pragma once
// Whole tensors through the storage type codecs: decode any tensor to f32, and
// re-encode an f32-decodable tensor into a storage format (round to nearest),
// rows in parallel. Below llm/, nn/ and quant/, which all use them.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/format.h"

namespace tern {

// Decodes any tensor with a storage format (f32/f16/bf16/fp8/GGUF blocks/tern's
// group-wise ints) or a plain integer dtype to f32, row-major.
std::vector<float> tensor_to_f32(const Tensor& t, const std::string& name);

// Re-encodes `src` in `fmt` (which must have a tensor dtype). Throws InputError
// naming the tensor when its row length is not a multiple of the block size,
// when it holds NaN/Inf, or when a value would overflow the format.
Tensor quantize_tensor_rtn(const Tensor& src, const FormatDescriptor& fmt, const std::string& name);

}  // namespace tern
