#pragma once
// A format-independent summary of a model file for `tern info`: metadata,
// tensors (name, dtype, shape, bytes), totals. Detects GGUF vs safetensors by
// content, not by extension.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/json_out.h"
#include "io/named_tensor.h"

namespace tern {

struct TensorSummary {
    std::string name;
    std::string dtype;
    std::vector<int64_t> shape;  // outermost-first (GGUF's ne[] reversed)
    uint64_t bytes = 0;
    uint64_t offset = 0;  // in the file
};

struct ModelFileInfo {
    std::string path;
    std::string container;      // "gguf v3", "safetensors"
    std::string architecture;   // from metadata when present
    uint64_t file_bytes = 0;
    uint64_t parameters = 0;
    uint64_t tensor_bytes = 0;
    std::vector<std::pair<std::string, std::string>> metadata;  // key, value rendered as text
    std::vector<TensorSummary> tensors;
};

// Throws InputError / IoError naming the file and problem.
ModelFileInfo read_model_info(const std::string& path);
Json model_info_json(const ModelFileInfo& info);
void print_model_info(const ModelFileInfo& info, bool with_tensors);

// The same summary as read_model_info, from bytes already in memory (the fuzz
// targets use this; `name` stands in for the path in error messages).
ModelFileInfo model_info_from_bytes(std::span<const uint8_t> bytes, const std::string& name);

// All tensors of a GGUF or safetensors file (or a sharded safetensors checkpoint:
// its index json or the folder holding it), in file order. Tensor shapes are
// outermost-first; GGUF's innermost-first dims are reversed.
std::vector<NamedTensor> load_tensors(const std::string& path);

}  // namespace tern
