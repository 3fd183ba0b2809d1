#pragma once
// The imatrix method: llama.cpp's importance-weighted quantization. Every
// weight with calibration statistics goes through the GGUF block quantizers'
// importance-weighted searches (formats/gguf_blocks_imatrix.h), importance =
// mean x^2 of each input column over the calibration tokens (llama.cpp's
// importance matrix); the rest by round to nearest.
#include <map>
#include <string>
#include <vector>

#include "quant/quantize_model.h"

namespace tern::quant {

// Importance per weight tensor name ("blk.0.attn_q.weight", the head's name).
using ImportanceMap = std::map<std::string, std::vector<float>>;

// The "<w>.in_meansq" tensors of a `tern calibrate` statistics file, keyed by
// the weight they belong to in `model` ("output" is the head: output.weight,
// or token_embd.weight when the model ties them). InputError naming the file
// when it holds none, or NaN / Inf / negative values.
ImportanceMap read_importance_file(const std::string& path, const TensorModel& model);

// Quantizes `w` (rows, cols) into `fmt` row by row with the importance
// weights; InputError naming the tensor when |w| overflows the format.
Tensor quantize_tensor_weighted(const std::vector<float>& w, const Shape& shape, const FormatDescriptor& fmt,
                                const std::vector<float>& importance, const std::string& name);

// The method: statistics from recipe.imatrix_file when given, else one
// calibration pass (mean x^2 only).
QuantizedModel run_imatrix(const TensorModel& model, const QuantRecipe& recipe);

}  // namespace tern::quant
