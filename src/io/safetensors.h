#pragma once
// safetensors reader and writer (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor ({"dtype", "shape", "data_offsets": [begin, end]} relative to the data
// buffer that follows) plus an optional "__metadata__" string map, then the
// raw tensor bytes. Sharded checkpoints add `model.safetensors.index.json`
// whose "weight_map" names the shard file of every tensor.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "io/named_tensor.h"

namespace tern::io {

// Headers above this are refused before any allocation (real ones are < 10 MB).
constexpr uint64_t kSafetensorsMaxHeaderBytes = uint64_t{100} << 20;

struct SafetensorsTensorInfo {
    std::string name;
    std::string dtype_name;  // as written in the file ("BF16")
    DType dtype = DType::f32;
    Shape shape;
    uint64_t begin = 0, end = 0;  // relative to the data buffer
    uint64_t file_offset = 0;     // absolute
};

struct SafetensorsFile {
    uint64_t header_bytes = 0;
    uint64_t data_offset = 0;  // 8 + header_bytes
    uint64_t file_bytes = 0;
    std::vector<std::pair<std::string, std::string>> metadata;  // "__metadata__", sorted by key
    std::vector<SafetensorsTensorInfo> tensors;                 // sorted by data offset (file order)
};

// True when the bytes look like a safetensors file: a plausible header length
// followed by '{'.
bool looks_like_safetensors(std::span<const uint8_t> bytes);

// Parses and validates the header: length within the file and the cap, JSON
// well-formed with no duplicate names, known dtypes, offsets within the buffer,
// sizes equal to numel x dtype size, no two tensors overlapping.
SafetensorsFile parse_safetensors(std::span<const uint8_t> bytes, const std::string& where);

// dtype names in files <-> tern dtypes.
std::optional<DType> dtype_from_safetensors_name(const std::string& name);
std::optional<std::string> safetensors_name_from_dtype(DType t);

struct SafetensorsModel {
    std::vector<std::string> paths;  // one per shard
    std::vector<std::shared_ptr<const MappedFile>> files;
    std::vector<SafetensorsFile> infos;  // one per shard
    std::vector<std::pair<std::string, std::string>> index_metadata;  // index json "metadata" (sharded only)
    std::vector<NamedTensor> tensors;  // shard order, then file order
};

// One .safetensors file.
SafetensorsModel read_safetensors(const std::string& path);
// A sharded checkpoint: `index_path` is model.safetensors.index.json. Every
// shard in the weight map is opened once; every tensor it names must exist in
// that shard, and no tensor name may appear in two shards.
SafetensorsModel read_safetensors_index(const std::string& index_path);

// Writes tensors (plain dtypes only) with the header keys sorted, data in the
// same order, the header padded with spaces so the data starts 8-byte aligned.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});
std::vector<uint8_t> safetensors_to_bytes(const std::vector<NamedTensor>& tensors,
                                          const std::map<std::string, std::string>& metadata = {});

}  // namespace tern::io
