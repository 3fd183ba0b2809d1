#pragma once
// tern's W8A8 storage (core/storage_types.h row w8a8): int8 weights with one
// scale per output channel, and an optional static activation scale, laid out
// as blocks so every reader that walks a tensor's bytes (GGUF, codecs, the
// non-finite scan) needs no special case:
//   float d;          // the row's scale: w ~= q * d (every block of a row holds the same d)
//   float act_scale;  // the tensor's static activation scale; 0 = per-token dynamic
//                     // (every block of a tensor holds the same value)
//   int8_t qs[128];   // codes in [-127, 127]
// At 136 bytes per 128 weights it costs what q8_0 costs (8.5 bits per weight).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "formats/format.h"

namespace tern {

struct W8A8Block {
    float d;
    float act_scale;
    int8_t qs[128];
};
static_assert(sizeof(W8A8Block) == 136);

inline constexpr int kW8A8Group = 128;
inline constexpr int kW8A8Qmax = 127;

// The per-row int8 rounding w8a8 and sparse24_q8 share (their codes are the
// same): the row's absmax scale over its finite values, and one value's code
// (round half to even, NaN -> 0, infinities saturate at +-127).
struct Int8RowScale {
    float d = 0;        // w ~= code * d
    double inv_d = 0;   // 1 / d, 0 for an all-zero row
};
Int8RowScale int8_row_scale(const float* x, int64_t n);
int8_t int8_code_of(float v, double inv_d);

// One row of n (a multiple of 128) weights to blocks with the row's absmax
// scale and the given activation scale (0: dynamic).
void w8a8_quantize_row(const float* x, uint8_t* out, int64_t n, float act_scale);

// A w8a8 tensor's bytes taken apart for the runtime.
struct W8A8Unpacked {
    std::vector<int8_t> codes;     // (N, K)
    std::vector<float> row_scales;  // (N)
    float act_scale = 0;            // 0: per-token dynamic
};
// blocks: N * K / 128 blocks. InputError naming `name` when a row's blocks
// disagree on the scale, the tensor's blocks on the activation scale, or a
// scale is negative or not finite (a hand-edited or damaged file).
W8A8Unpacked unpack_w8a8(const uint8_t* blocks, int64_t n, int64_t k, const std::string& name);

// The w8a8 storage type's codec (formats registry).
std::span<const FormatDescriptor> w8a8_formats();

}  // namespace tern
