#pragma once
// GGUF v3 writer: metadata of every value type, then tensor infos, then the
// tensor data, each piece padded to the alignment (general.alignment when the
// metadata sets it, else 32). The file appears atomically or not at all.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/gguf_types.h"
#include "io/named_tensor.h"

namespace tern::io {

// Tensors must have rank 1..4, a dtype GGUF can store, and a last dimension that
// is a multiple of the dtype's block size. Throws InputError/IoError naming path.
// verify (optional) reads the complete file at the path it is given before the
// file appears under `path`; when it throws, nothing is written.
void write_gguf(const std::string& path, const GgufMetadata& metadata, const std::vector<NamedTensor>& tensors,
                const std::function<void(const std::string& staged_path)>& verify = {});

// The whole file in memory (tests and fuzz seed corpora).
std::vector<uint8_t> gguf_to_bytes(const GgufMetadata& metadata, const std::vector<NamedTensor>& tensors);

}  // namespace tern::io
