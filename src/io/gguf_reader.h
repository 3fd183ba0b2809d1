#pragma once
// GGUF v2/v3 reader. The parser works on bytes in memory (a mapped file, or a
// fuzzer's buffer) and checks every count, length and offset against them
// before use; read_gguf maps a file and returns zero-copy tensor views.
//
// Shapes: GGUF stores dims innermost-first (ne[0] is the row length); tern's
// Shape is outermost-first, so GgufTensorInfo::shape is ne[] reversed. A
// llama.cpp "token_embd.weight" with ne = {4096, 32000} is Shape {32000, 4096}.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "io/gguf_types.h"
#include "io/named_tensor.h"

namespace tern::io {

struct GgufTensorInfo {
    std::string name;
    Shape shape;             // outermost-first (reverse of the file's ne[])
    uint32_t ggml_type = 0;  // as stored
    DType dtype = DType::f32;
    uint64_t offset = 0;       // relative to the data section, as stored
    uint64_t file_offset = 0;  // absolute position in the file
    uint64_t nbytes = 0;
};

struct GgufFile {
    uint32_t version = 3;
    GgufMetadata metadata;  // file order
    std::vector<GgufTensorInfo> tensors;  // file order
    uint32_t alignment = kGgufDefaultAlignment;
    uint64_t data_offset = 0;  // absolute start of the (aligned) tensor data section
    uint64_t file_bytes = 0;
};

// True when the bytes start with the GGUF magic.
bool looks_like_gguf(std::span<const uint8_t> bytes);

// Parses and validates the header, metadata and tensor infos; every tensor's
// data range is checked to lie within `bytes`. Throws InputError(where, ...).
GgufFile parse_gguf(std::span<const uint8_t> bytes, const std::string& where);

struct GgufModel {
    GgufFile info;
    std::shared_ptr<const MappedFile> file;
    std::vector<NamedTensor> tensors;  // views into `file`, same order as info.tensors
};

GgufModel read_gguf(const std::string& path);

}  // namespace tern::io
