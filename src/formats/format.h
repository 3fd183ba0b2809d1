#pragma once
// Number-format descriptors. Every format tern knows (floats, integers, fixed
// point, block floating point, MX, NF4, the GGUF blocks, tern's own) is one
// FormatDescriptor: its block geometry plus scalar reference quantize and
// dequantize. These references are the truth that SIMD kernels are tested
// against, so they favour clarity over speed.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace tern {

struct FormatDescriptor {
    std::string_view name;         // unique, lower case: "q4_0", "mxfp4", "fp8_e4m3", "int4_asym_g128"
    std::string_view family;       // "float", "int", "fixed", "bfp", "mx", "nf", "gguf", "tern"
    std::string_view description;  // one line for --help and tables
    uint32_t block_size;           // elements per block
    uint32_t block_bytes;          // bytes per block (scales included)
    // x: n floats (n a multiple of block_size) -> out: n / block_size blocks.
    void (*quantize)(const float* x, uint8_t* out, int64_t n);
    // in: n / block_size blocks -> y: n floats.
    void (*dequantize)(const uint8_t* in, float* y, int64_t n);
    // The tensor storage type when the format is one (GGUF blocks, f16, ...).
    std::optional<DType> dtype;

    double bits_per_weight() const { return 8.0 * block_bytes / block_size; }
    uint64_t bytes_for(int64_t n) const { return static_cast<uint64_t>(n / block_size) * block_bytes; }
};

// Every registered format, in a stable order (by family, then size).
std::span<const FormatDescriptor> all_formats();
// nullptr when unknown.
const FormatDescriptor* find_format(std::string_view name);
// Throws InputError listing the known names when unknown.
const FormatDescriptor& format_by_name(std::string_view name);
// The descriptor for a tensor storage dtype, or nullptr.
const FormatDescriptor* format_for_dtype(DType dtype);

// Quantizes then dequantizes `x` (padding a final partial block with zeros),
// returning the reconstruction. Used by error tables and tests.
std::vector<float> round_trip(const FormatDescriptor& fmt, std::span<const float> x);

// Per-family lists, defined in each family's file and concatenated by the registry.
std::span<const FormatDescriptor> float_formats();   // fp32/fp16/bf16/fp8/fixed/bfp (formats/float_formats.cpp)
std::span<const FormatDescriptor> int_formats();     // intN sym/asym group-wise, tern int4 (formats/int_formats.cpp)
std::span<const FormatDescriptor> mx_formats();      // MXFP8/6/4, MXINT8, NF4 (formats/mx_formats.cpp)
std::span<const FormatDescriptor> gguf_formats();    // Q4_0 … Q8_K (formats/gguf_blocks*.cpp)

}  // namespace tern
