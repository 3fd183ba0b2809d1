#pragma once
// tern's group-wise asymmetric int4 (AWQ/GPTQ storage): the layout of the
// formats family's int4_asym_g{32,64,128} (formats/int_formats.cpp), seen by
// the kernels as a packed struct: per group an fp16 scale d, a u8 zero point z in
// [0, 15], and G 4-bit codes packed LSB first (element i in byte i/2, low
// nibble for even i). x = (q - z) * d.
#include <cstdint>

namespace tern {

#pragma pack(push, 1)
template <int Group>
struct BlockInt4Asym {
    uint16_t d;
    uint8_t zero;
    uint8_t qs[Group / 2];
};
#pragma pack(pop)
static_assert(sizeof(BlockInt4Asym<32>) == 19);
static_assert(sizeof(BlockInt4Asym<64>) == 35);
static_assert(sizeof(BlockInt4Asym<128>) == 67);

inline int int4_asym_block_bytes(int group) { return 3 + group / 2; }

// Row quantize/dequantize through the formats reference. k: multiple of group.
void quantize_row_int4_asym(const float* x, uint8_t* blocks, int64_t k, int group);
void dequantize_row_int4_asym(const uint8_t* blocks, float* y, int64_t k, int group);

}  // namespace tern
