#pragma once
// The one list of tensor storage types. Every reader (core/dtype names and
// sizes, io/gguf_types' ggml ids, the quantize command's file types, the
// formats registry, quant_matmul's packable types) looks its facts up here, so
// adding a storage type is one row below plus its block code in formats/ and
// tests (tests/core/test_storage_types.cpp checks every reader against it).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tern {

// One row per type, in DType order:
//   X(id, name, block elements, block bytes, kind, ggml id, llama ftype, kernel, kernel group)
// name:   as the CLI and files spell it (`--format`, `tern info`).
// kind:   float_ (one float per element), integer (one int per element), block (quantized blocks).
// ggml:   ggml's `enum ggml_type` id, or kNone. Ids from kTernPrivateGgmlTypes are tern's own:
//         tern writes and reads them, llama.cpp refuses such files (unknown type).
// ftype:  llama.cpp's LLAMA_FTYPE_* for a file whose 2-D weights all have this type, or kNone.
// kernel: the quant_matmul QuantType (by name) that runs it packed, or "" (decoded to f32 once).
#define TERN_STORAGE_TYPES(X)                                                          \
    X(f32, "f32", 1, 4, float_, 0, 0, "", 0)          /* LLAMA_FTYPE_ALL_F32 */        \
    X(f16, "f16", 1, 2, float_, 1, 1, "", 0)          /* MOSTLY_F16 */                 \
    X(bf16, "bf16", 1, 2, float_, 30, 32, "", 0)      /* MOSTLY_BF16 */                \
    X(f64, "f64", 1, 8, float_, 28, kNone, "", 0)                                      \
    X(i8, "i8", 1, 1, integer, 24, kNone, "", 0)                                       \
    X(u8, "u8", 1, 1, integer, kNone, kNone, "", 0)                                    \
    X(i16, "i16", 1, 2, integer, 25, kNone, "", 0)                                     \
    X(i32, "i32", 1, 4, integer, 26, kNone, "", 0)                                     \
    X(i64, "i64", 1, 8, integer, 27, kNone, "", 0)                                     \
    X(boolean, "bool", 1, 1, integer, kNone, kNone, "", 0)                             \
    X(fp8_e4m3, "fp8_e4m3", 1, 1, float_, kNone, kNone, "", 0)                         \
    X(fp8_e5m2, "fp8_e5m2", 1, 1, float_, kNone, kNone, "", 0)                         \
    /* GGUF blocks, byte-compatible with llama.cpp (formats/gguf_blocks.h) */          \
    X(q4_0, "q4_0", 32, 18, block, 2, 2, "q4_0", 32)                                   \
    X(q4_1, "q4_1", 32, 20, block, 3, 3, "q4_1", 32)                                   \
    X(q5_0, "q5_0", 32, 22, block, 6, 8, "q5_0", 32)                                   \
    X(q5_1, "q5_1", 32, 24, block, 7, 9, "q5_1", 32)                                   \
    X(q8_0, "q8_0", 32, 34, block, 8, 7, "q8_0", 32)                                   \
    X(q8_1, "q8_1", 32, 36, block, 9, kNone, "", 0)                                    \
    X(q2_k, "q2_k", 256, 84, block, 10, 10, "q2_k", 256)                               \
    X(q3_k, "q3_k", 256, 110, block, 11, 11, "q3_k", 256) /* Q3_K_S: all q3_K */       \
    X(q4_k, "q4_k", 256, 144, block, 12, 14, "q4_k", 256) /* Q4_K_S */                 \
    X(q5_k, "q5_k", 256, 176, block, 13, 16, "q5_k", 256) /* Q5_K_S */                 \
    X(q6_k, "q6_k", 256, 210, block, 14, 18, "q6_k", 256)                              \
    X(q8_k, "q8_k", 256, 292, block, 15, kNone, "", 0)                                 \
    /* tern's group-wise asymmetric ints (AWQ/GPTQ storage; formats/int_formats.cpp): \
       per 128 weights of a row an fp16 scale, a u8 zero point, dense codes */         \
    X(int4g128, "int4g128", 128, 67, block, 1024, kNone, "int4_asym", 128)             \
    X(int3g128, "int3g128", 128, 51, block, 1025, kNone, "", 0)                        \
    X(int2g128, "int2g128", 128, 35, block, 1026, kNone, "", 0)                        \
    /* tern's W8A8 (SmoothQuant storage; formats/w8a8_format.cpp): per 128 weights an \
       f32 row scale, an f32 activation scale (0: per-token dynamic), 128 int8 codes; \
       ops::Linear runs it int8 x int8 on gemm_q8 */                                  \
    X(w8a8, "w8a8", 128, 136, block, 1027, kNone, "", 0)                              \
    /* tern's 2:4 sparse int8 (formats/sparse24_block.h): per 128 weights an f32 row  \
       scale, 2-bit positions of the 2 kept weights of every 4, their 64 int8 codes;  \
       ops::Linear runs it on the 2:4 sparse kernel (kernels/sparse) */              \
    X(sparse24_q8, "sparse24_q8", 128, 84, block, 1028, kNone, "", 0)

// Marks a column a type has no value for (no ggml id, no llama.cpp file type).
inline constexpr int64_t kNone = -1;
// ggml ids from here up are tern's private block types (ggml's own stop below 64).
inline constexpr uint32_t kTernPrivateGgmlTypes = 1024;

enum class DType : uint8_t {
#define TERN_DTYPE_ENUM(id, ...) id,
    TERN_STORAGE_TYPES(TERN_DTYPE_ENUM)
#undef TERN_DTYPE_ENUM
    count_
};

enum class StorageKind : uint8_t { float_, integer, block };

struct StorageType {
    DType dtype;
    std::string_view name;
    uint32_t block_size;   // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block, scales included
    StorageKind kind;
    bool is_float;            // kind == float_
    bool is_block_quantized;  // kind == block
    std::optional<uint32_t> ggml_type;    // ggml's tensor type id
    std::optional<uint32_t> llama_ftype;  // general.file_type for a file of this type
    std::string_view kernel;              // quant_matmul QuantType name; empty: none
    int kernel_group;                     // the kernel's group (block elements), 0 without kernel

    constexpr bool has_kernel() const { return !kernel.empty(); }
};

namespace storage_detail {
constexpr std::optional<uint32_t> opt(int64_t v) {
    return v < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(v));
}
}  // namespace storage_detail

inline constexpr std::array<StorageType, static_cast<size_t>(DType::count_)> kStorageTypes{{
#define TERN_STORAGE_ROW(id, name, elems, bytes, kind, ggml, ftype, kernel, group)                                  \
    {DType::id, name, elems, bytes, StorageKind::kind, StorageKind::kind == StorageKind::float_,                   \
     StorageKind::kind == StorageKind::block, storage_detail::opt(ggml), storage_detail::opt(ftype), kernel, group},
    TERN_STORAGE_TYPES(TERN_STORAGE_ROW)
#undef TERN_STORAGE_ROW
}};

// The row of a dtype (t must be a valid enumerator; dtype_info checks).
constexpr const StorageType& storage_type(DType t) { return kStorageTypes[static_cast<size_t>(t)]; }

// nullptr when unknown.
constexpr const StorageType* storage_type_by_name(std::string_view name) {
    for (const auto& s : kStorageTypes)
        if (s.name == name) return &s;
    return nullptr;
}
constexpr const StorageType* storage_type_by_ggml(uint32_t ggml_type) {
    for (const auto& s : kStorageTypes)
        if (s.ggml_type == ggml_type) return &s;
    return nullptr;
}

namespace storage_detail {
constexpr bool table_is_sound() {
    for (size_t i = 0; i < kStorageTypes.size(); ++i) {
        const StorageType& s = kStorageTypes[i];
        if (static_cast<size_t>(s.dtype) != i || s.block_size == 0 || s.block_bytes == 0) return false;
        if (storage_type_by_name(s.name) != &s) return false;  // names are unique
        if (s.ggml_type && storage_type_by_ggml(*s.ggml_type) != &s) return false;  // ggml ids too
        if (s.has_kernel() != (s.kernel_group != 0)) return false;
        if (s.has_kernel() && static_cast<uint32_t>(s.kernel_group) != s.block_size) return false;
    }
    return true;
}
static_assert(table_is_sound(), "storage type table: order, unique names/ids, kernel groups");
}  // namespace storage_detail

}  // namespace tern
