// Block floating point: a block of elements shares one power-of-two step and
// each element keeps a signed integer mantissa, x ~= m * 2^(e - 127).
//
// Block layout (BfpBlock<MantBits, Block>):
//   uint8_t exp;                      // e, biased by 127 like E8M0; 0xFF = NaN block
//   uint8_t qs[MantBits * Block / 8]; // Block two's complement mantissas, dense LSB-first bit fields
// The step is the smallest power of two for which every rounded mantissa fits
// in [-(2^(M-1) - 1), 2^(M-1) - 1], so nothing is clipped; ties round to even.
// A block holding NaN or Inf decodes as all NaN.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/bit_pack.h"
#include "formats/float_family_parts.h"
#include "formats/minifloat.h"

namespace tern {
namespace {

template <int MantBits, int Block>
struct BfpBlock {
    uint8_t exp;
    uint8_t qs[MantBits * Block / 8];
};
static_assert(sizeof(BfpBlock<8, 16>) == 17);
static_assert(sizeof(BfpBlock<4, 32>) == 17);
static_assert(sizeof(BfpBlock<6, 32>) == 25);

template <int MantBits, int Block>
struct Bfp {
    using BlockT = BfpBlock<MantBits, Block>;
    static constexpr int kQmax = (1 << (MantBits - 1)) - 1;

    static void quantize_block(const float* x, BlockT& b) {
        std::memset(&b, 0, sizeof(b));
        double amax = 0;
        for (int i = 0; i < Block; ++i) {
            if (!std::isfinite(x[i])) {
                b.exp = kE8M0Nan;
                return;
            }
            amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        }
        if (amax == 0) return;  // exp 0 and zero mantissas decode to exact zeros
        // Largest mantissa lands in [2^(M-2), 2^(M-1)); one more step if rounding overflows it.
        int step = std::ilogb(amax) - (MantBits - 2);
        if (round_half_even(std::ldexp(amax, -step)) > kQmax) ++step;
        b.exp = e8m0_encode_exponent(step);
        step = static_cast<int>(b.exp) - kE8M0Bias;  // clamped for tiny blocks
        for (int i = 0; i < Block; ++i) {
            double q = round_half_even(std::ldexp(static_cast<double>(x[i]), -step));
            q = std::clamp(q, -double(kQmax), double(kQmax));
            put_bits(b.qs, MantBits, i, to_twos_complement(static_cast<int>(q), MantBits));
        }
    }

    static void quantize(const float* x, uint8_t* out, int64_t n) {
        for (int64_t k = 0; k < n / Block; ++k) {
            BlockT b;
            quantize_block(x + k * Block, b);
            std::memcpy(out + k * sizeof(BlockT), &b, sizeof(BlockT));
        }
    }

    static void dequantize(const uint8_t* in, float* y, int64_t n) {
        for (int64_t k = 0; k < n / Block; ++k) {
            BlockT b;
            std::memcpy(&b, in + k * sizeof(BlockT), sizeof(BlockT));
            float* yb = y + k * Block;
            const bool nan = b.exp == kE8M0Nan;
            const int step = static_cast<int>(b.exp) - kE8M0Bias;
            for (int i = 0; i < Block; ++i) {
                const int m = from_twos_complement(get_bits(b.qs, MantBits, i), MantBits);
                yb[i] = nan ? NAN : static_cast<float>(std::ldexp(static_cast<double>(m), step));
            }
        }
    }
};

using Bfp8B16 = Bfp<8, 16>;
using Bfp6B32 = Bfp<6, 32>;
using Bfp4B32 = Bfp<4, 32>;

const FormatDescriptor kBfpFormats[] = {
    {"bfp4_b32", "bfp", "block floating point: 32 x 4-bit signed mantissas + one shared 8-bit exponent", 32,
     sizeof(Bfp4B32::BlockT), Bfp4B32::quantize, Bfp4B32::dequantize, std::nullopt},
    {"bfp6_b32", "bfp", "block floating point: 32 x 6-bit signed mantissas + one shared 8-bit exponent", 32,
     sizeof(Bfp6B32::BlockT), Bfp6B32::quantize, Bfp6B32::dequantize, std::nullopt},
    {"bfp8_b16", "bfp", "block floating point: 16 x 8-bit signed mantissas + one shared 8-bit exponent", 16,
     sizeof(Bfp8B16::BlockT), Bfp8B16::quantize, Bfp8B16::dequantize, std::nullopt},
};

}  // namespace

std::span<const FormatDescriptor> bfp_formats() { return kBfpFormats; }

}  // namespace tern
