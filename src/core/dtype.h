#pragma once
// Storage types of tensor elements. Plain types have block size 1; block
// formats (the GGUF quantized blocks) store `block_size` elements in
// `block_bytes` bytes. The numeric encode/decode of each lives in formats/.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tern {

enum class DType : uint8_t {
    f32, f16, bf16, f64,
    i8, u8, i16, i32, i64, boolean,
    fp8_e4m3, fp8_e5m2,
    // GGUF block formats (byte-compatible with llama.cpp).
    q4_0, q4_1, q5_0, q5_1, q8_0, q8_1,
    q2_k, q3_k, q4_k, q5_k, q6_k, q8_k,
    count_
};

struct DTypeInfo {
    DType dtype;
    std::string_view name;
    uint32_t block_size;   // elements per block (1 for plain types)
    uint32_t block_bytes;  // bytes per block
    bool is_float;
    bool is_block_quantized;
};

const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }
std::optional<DType> dtype_from_name(std::string_view name);

// Bytes needed for `n` elements; n must be a multiple of the block size.
size_t dtype_bytes_for(DType t, uint64_t n);
// Bits per element including block scales (e.g. q4_0 = 4.5).
double dtype_bits_per_element(DType t);

}  // namespace tern
