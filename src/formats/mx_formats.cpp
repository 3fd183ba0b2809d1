// OCP Microscaling (MX) v1.0 formats and QLoRA's NF4.
//
// MX block (32 elements), MxBlock<ElemBits>:
//   uint8_t scale;                 // E8M0 shared scale 2^(scale - 127); 0xFF = NaN block
//   uint8_t qs[ElemBits * 32 / 8]; // 32 element codes, dense LSB-first bit fields
//                                  // (FP4: element 2k in the low nibble of byte k;
//                                  //  FP6: 4 elements in 3 bytes)
//   x_i ~= scale * element_i
// Shared exponent per the spec: X = floor(log2(absmax)) - emax_elem, clamped to
// [-127, 127]; an all-zero block gets X = -127. Elements are the element type's
// round-to-nearest-even of x / 2^X, saturating at its max normal. A block with a
// NaN or Inf gets the NaN scale (FP6/FP4 have no NaN or Inf of their own).
// MXINT8 elements are int8 two's complement read as q * 2^-6 (1.6 fixed point),
// clamped to the symmetric [-127, 127].
//
// NF4 block (64 elements), Nf4Block:
//   uint8_t d[2];   // fp16 absmax of the block
//   uint8_t qs[32]; // 64 indices into the 16 NF4 values, element 2k in the low nibble of byte k
//   x_i ~= d * kNf4Values[index_i]; the nearest value is chosen (ties -> the smaller one).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "formats/bit_pack.h"
#include "formats/format.h"
#include "formats/minifloat.h"
#include "formats/nf4.h"

namespace tern {
namespace {

constexpr int kMxBlock = 32;

template <int ElemBits>
struct MxBlock {
    uint8_t scale;
    uint8_t qs[ElemBits * kMxBlock / 8];
};
static_assert(sizeof(MxBlock<8>) == 33);
static_assert(sizeof(MxBlock<6>) == 25);
static_assert(sizeof(MxBlock<4>) == 17);

// Element codecs: emax (exponent of the largest normal), encode, decode.
template <const MinifloatSpec& Spec>
struct MxFloatElement {
    static constexpr int kBits = Spec.exp_bits + Spec.man_bits + 1;
    static int emax() { return Spec.emax(); }
    static uint32_t encode(double v) {
        return minifloat_encode(Spec, static_cast<float>(v), MinifloatOverflow::saturate);
    }
    static float decode(uint32_t code) { return minifloat_decode(Spec, static_cast<uint8_t>(code)); }
};

struct MxInt8Element {
    static constexpr int kBits = 8;
    static int emax() { return 0; }  // largest element 127/64 lies in binade 2^0
    static uint32_t encode(double v) {
        const double q = std::clamp(round_half_even(v * 64.0), -127.0, 127.0);
        return to_twos_complement(static_cast<int>(q), 8);
    }
    static float decode(uint32_t code) { return static_cast<float>(from_twos_complement(code, 8)) / 64.0f; }
};

template <typename Elem>
struct Mx {
    using BlockT = MxBlock<Elem::kBits>;

    static void quantize_block(const float* x, BlockT& b) {
        std::memset(&b, 0, sizeof(b));
        double amax = 0;
        for (int i = 0; i < kMxBlock; ++i) {
            if (!std::isfinite(x[i])) {
                b.scale = kE8M0Nan;
                return;
            }
            amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        }
        const int shared = amax == 0 ? -kE8M0Bias : std::ilogb(amax) - Elem::emax();
        b.scale = e8m0_encode_exponent(shared);
        const int x_exp = static_cast<int>(b.scale) - kE8M0Bias;
        // The double carries x / 2^X exactly; the float cast inside FP encoders is exact too
        // unless X was clamped at -127, where it only flushes already-negligible values.
        for (int i = 0; i < kMxBlock; ++i)
            put_bits(b.qs, Elem::kBits, i, Elem::encode(std::ldexp(static_cast<double>(x[i]), -x_exp)));
    }

    static void quantize(const float* x, uint8_t* out, int64_t n) {
        for (int64_t k = 0; k < n / kMxBlock; ++k) {
            BlockT b;
            quantize_block(x + k * kMxBlock, b);
            std::memcpy(out + k * sizeof(BlockT), &b, sizeof(BlockT));
        }
    }

    static void dequantize(const uint8_t* in, float* y, int64_t n) {
        for (int64_t k = 0; k < n / kMxBlock; ++k) {
            BlockT b;
            std::memcpy(&b, in + k * sizeof(BlockT), sizeof(BlockT));
            const bool nan = b.scale == kE8M0Nan;
            const int x_exp = static_cast<int>(b.scale) - kE8M0Bias;
            for (int i = 0; i < kMxBlock; ++i) {
                const float e = Elem::decode(get_bits(b.qs, Elem::kBits, i));
                y[k * kMxBlock + i] = nan ? NAN : static_cast<float>(std::ldexp(static_cast<double>(e), x_exp));
            }
        }
    }
};

using MxFp8E4M3 = Mx<MxFloatElement<kFp8E4M3>>;
using MxFp8E5M2 = Mx<MxFloatElement<kFp8E5M2>>;
using MxFp6E2M3 = Mx<MxFloatElement<kFp6E2M3>>;
using MxFp6E3M2 = Mx<MxFloatElement<kFp6E3M2>>;
using MxFp4E2M1 = Mx<MxFloatElement<kFp4E2M1>>;
using MxInt8 = Mx<MxInt8Element>;

constexpr int kNf4Block = 64;
struct Nf4Block {
    uint8_t d[2];
    uint8_t qs[kNf4Block / 2];
};
static_assert(sizeof(Nf4Block) == 34);

void quantize_nf4(const float* x, uint8_t* out, int64_t n) {
    for (int64_t k = 0; k < n / kNf4Block; ++k) {
        const float* xb = x + k * kNf4Block;
        Nf4Block b{};
        float amax = 0;
        for (int i = 0; i < kNf4Block; ++i)
            if (std::fabs(xb[i]) > amax) amax = std::fabs(xb[i]);  // NaN ignored
        const uint16_t dh = fp32_to_fp16(std::min(amax, 65504.0f));
        std::memcpy(b.d, &dh, 2);
        const float d = fp16_to_fp32(dh);
        for (int i = 0; i < kNf4Block; ++i) {
            const float v = d > 0 && !std::isnan(xb[i]) ? std::clamp(xb[i] / d, -1.0f, 1.0f) : 0.0f;
            put_bits(b.qs, 4, i, static_cast<uint32_t>(nf4_nearest_index(v)));
        }
        std::memcpy(out + k * sizeof(Nf4Block), &b, sizeof(Nf4Block));
    }
}

void dequantize_nf4(const uint8_t* in, float* y, int64_t n) {
    for (int64_t k = 0; k < n / kNf4Block; ++k) {
        Nf4Block b;
        std::memcpy(&b, in + k * sizeof(Nf4Block), sizeof(Nf4Block));
        uint16_t dh;
        std::memcpy(&dh, b.d, 2);
        const float d = fp16_to_fp32(dh);
        for (int i = 0; i < kNf4Block; ++i) y[k * kNf4Block + i] = kNf4Values[get_bits(b.qs, 4, i)] * d;
    }
}

template <typename F>
constexpr FormatDescriptor describe_mx(std::string_view name, std::string_view description) {
    return {name, "mx", description, kMxBlock, sizeof(typename F::BlockT), F::quantize, F::dequantize, std::nullopt};
}

const FormatDescriptor kMxFormats[] = {
    describe_mx<MxFp4E2M1>("mxfp4", "OCP MXFP4: 32 x FP4 E2M1 + E8M0 scale"),
    describe_mx<MxFp6E3M2>("mxfp6_e3m2", "OCP MXFP6: 32 x FP6 E3M2 (4 per 3 bytes) + E8M0 scale"),
    describe_mx<MxFp6E2M3>("mxfp6_e2m3", "OCP MXFP6: 32 x FP6 E2M3 (4 per 3 bytes) + E8M0 scale"),
    describe_mx<MxFp8E5M2>("mxfp8_e5m2", "OCP MXFP8: 32 x FP8 E5M2 + E8M0 scale"),
    describe_mx<MxFp8E4M3>("mxfp8_e4m3", "OCP MXFP8: 32 x FP8 E4M3 + E8M0 scale"),
    describe_mx<MxInt8>("mxint8", "OCP MXINT8: 32 x int8 (1.6 fixed point) + E8M0 scale"),
    {"nf4", "nf", "QLoRA NormalFloat4: 64 x 4-bit N(0,1) quantile index + fp16 absmax", kNf4Block, sizeof(Nf4Block),
     quantize_nf4, dequantize_nf4, std::nullopt},
};

}  // namespace

std::span<const FormatDescriptor> mx_formats() { return kMxFormats; }

}  // namespace tern
