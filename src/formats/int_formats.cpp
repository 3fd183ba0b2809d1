// Group-wise linear integer formats: intN symmetric and asymmetric, one fp16
// scale per group. int4_asym_g{32,64,128} is also tern's AWQ/GPTQ storage.
//
// Symmetric block IntSymBlock<N, G>:
//   uint8_t d[2];          // fp16 scale d = absmax / qmax, qmax = 2^(N-1) - 1
//   uint8_t qs[N * G / 8]; // G two's complement N-bit q in [-qmax, qmax], dense LSB-first fields
//   x ~= q * d
// Asymmetric block IntAsymBlock<N, G>:
//   uint8_t d[2];          // fp16 scale d = (hi - lo) / (2^N - 1), lo = min(min x, 0), hi = max(max x, 0)
//   uint8_t zero;          // integer zero point z in [0, 2^N - 1] (one byte, any N)
//   uint8_t qs[N * G / 8]; // G unsigned N-bit q in [0, 2^N - 1], dense LSB-first fields
//   x ~= (q - z) * d
// The range always holds 0 (GPTQ's rule) so zero is exact and z needs no clamp.
// Rounding is to nearest, ties to even; quantization uses the fp16-rounded
// scale so the stored codes are the best ones for the stored scale. NaN
// elements store code 0 (sym) or z (asym); infinities saturate.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "formats/bit_pack.h"
#include "formats/format.h"
#include "formats/minifloat.h"

namespace tern {
namespace {

template <int Bits, int Group>
struct IntSymBlock {
    uint8_t d[2];
    uint8_t qs[Bits * Group / 8];
};
static_assert(sizeof(IntSymBlock<2, 32>) == 10);
static_assert(sizeof(IntSymBlock<3, 32>) == 14);
static_assert(sizeof(IntSymBlock<4, 32>) == 18);
static_assert(sizeof(IntSymBlock<8, 32>) == 34);

template <int Bits, int Group>
struct IntAsymBlock {
    uint8_t d[2];
    uint8_t zero;
    uint8_t qs[Bits * Group / 8];
};
static_assert(sizeof(IntAsymBlock<2, 32>) == 11);
static_assert(sizeof(IntAsymBlock<3, 32>) == 15);
static_assert(sizeof(IntAsymBlock<4, 32>) == 19);
static_assert(sizeof(IntAsymBlock<4, 64>) == 35);
static_assert(sizeof(IntAsymBlock<4, 128>) == 67);
static_assert(sizeof(IntAsymBlock<8, 32>) == 35);
// tern's storage types int{4,3,2}g128 (core/storage_types.h rows).
static_assert(sizeof(IntAsymBlock<4, 128>) == storage_type(DType::int4g128).block_bytes);
static_assert(sizeof(IntAsymBlock<3, 128>) == storage_type(DType::int3g128).block_bytes);
static_assert(sizeof(IntAsymBlock<2, 128>) == storage_type(DType::int2g128).block_bytes);

constexpr float kHalfMax = 65504.0f;

// fp16 scale for a wanted step; huge steps clamp to the fp16 max (those groups saturate).
uint16_t scale_to_fp16(double step) { return fp32_to_fp16(static_cast<float>(std::min<double>(step, kHalfMax))); }

void store_scale(uint8_t* dst, uint16_t h) { std::memcpy(dst, &h, 2); }
float load_scale(const uint8_t* src) {
    uint16_t h;
    std::memcpy(&h, src, 2);
    return fp16_to_fp32(h);
}

// round(x / d) clamped to [lo, hi] with NaN -> `nan_code`, safe for any x.
int quantize_step(float x, double inv_d, int lo, int hi, int nan_code) {
    const double t = round_half_even(static_cast<double>(x) * inv_d);
    if (std::isnan(t)) return nan_code;  // NaN input, or Inf * 0 scale: never cast NaN to int
    return static_cast<int>(std::clamp(t, double(lo), double(hi)));
}

template <int Bits, int Group>
struct IntSym {
    using BlockT = IntSymBlock<Bits, Group>;
    static constexpr int kQmax = (1 << (Bits - 1)) - 1;

    static void quantize(const float* x, uint8_t* out, int64_t n) {
        for (int64_t k = 0; k < n / Group; ++k) {
            const float* xb = x + k * Group;
            BlockT b{};
            double amax = 0;
            for (int i = 0; i < Group; ++i)
                if (std::fabs(xb[i]) > amax) amax = std::fabs(xb[i]);  // NaN compares false: ignored
            const uint16_t dh = scale_to_fp16(amax / kQmax);
            store_scale(b.d, dh);
            const float d = fp16_to_fp32(dh);
            const double inv_d = d > 0 ? 1.0 / d : 0.0;
            for (int i = 0; i < Group; ++i) {
                const int q = quantize_step(xb[i], inv_d, -kQmax, kQmax, 0);
                put_bits(b.qs, Bits, i, to_twos_complement(q, Bits));
            }
            std::memcpy(out + k * sizeof(BlockT), &b, sizeof(BlockT));
        }
    }

    static void dequantize(const uint8_t* in, float* y, int64_t n) {
        for (int64_t k = 0; k < n / Group; ++k) {
            BlockT b;
            std::memcpy(&b, in + k * sizeof(BlockT), sizeof(BlockT));
            const float d = load_scale(b.d);
            for (int i = 0; i < Group; ++i)
                y[k * Group + i] = static_cast<float>(from_twos_complement(get_bits(b.qs, Bits, i), Bits)) * d;
        }
    }
};

template <int Bits, int Group>
struct IntAsym {
    using BlockT = IntAsymBlock<Bits, Group>;
    static constexpr int kLevels = (1 << Bits) - 1;

    static void quantize(const float* x, uint8_t* out, int64_t n) {
        for (int64_t k = 0; k < n / Group; ++k) {
            const float* xb = x + k * Group;
            BlockT b{};
            double lo = 0, hi = 0;
            for (int i = 0; i < Group; ++i) {
                if (xb[i] < lo) lo = xb[i];
                if (xb[i] > hi) hi = xb[i];
            }
            const uint16_t dh = scale_to_fp16((hi - lo) / kLevels);
            store_scale(b.d, dh);
            const float d = fp16_to_fp32(dh);
            const double inv_d = d > 0 ? 1.0 / d : 0.0;
            const int z = static_cast<int>(std::clamp(round_half_even(-lo * inv_d), 0.0, double(kLevels)));
            b.zero = static_cast<uint8_t>(z);
            for (int i = 0; i < Group; ++i) {
                // Shift by z before clamping: q = clamp(round(x / d) + z, 0, levels).
                const int q = quantize_step(xb[i], inv_d, -z, kLevels - z, 0) + z;
                put_bits(b.qs, Bits, i, static_cast<uint32_t>(q));
            }
            std::memcpy(out + k * sizeof(BlockT), &b, sizeof(BlockT));
        }
    }

    static void dequantize(const uint8_t* in, float* y, int64_t n) {
        for (int64_t k = 0; k < n / Group; ++k) {
            BlockT b;
            std::memcpy(&b, in + k * sizeof(BlockT), sizeof(BlockT));
            const float d = load_scale(b.d);
            for (int i = 0; i < Group; ++i)
                y[k * Group + i] = static_cast<float>(static_cast<int>(get_bits(b.qs, Bits, i)) - b.zero) * d;
        }
    }
};

template <typename F>
constexpr FormatDescriptor describe(std::string_view name, std::string_view description, uint32_t group) {
    return {name, "int", description, group, sizeof(typename F::BlockT), F::quantize, F::dequantize, std::nullopt};
}

// A storage type: tensors and GGUF files (tern's own ggml ids) hold it.
template <typename F>
constexpr FormatDescriptor describe_storage(DType dtype, std::string_view description) {
    const StorageType& s = storage_type(dtype);
    return {s.name, "tern", description, s.block_size, sizeof(typename F::BlockT), F::quantize, F::dequantize, dtype};
}

const FormatDescriptor kIntFormats[] = {
    describe<IntSym<2, 32>>("int2_sym_g32", "2-bit symmetric {-1,0,1} * fp16 absmax scale per 32", 32),
    describe<IntAsym<2, 32>>("int2_asym_g32", "2-bit asymmetric, fp16 scale + int zero point per 32", 32),
    describe<IntSym<3, 32>>("int3_sym_g32", "3-bit symmetric [-3,3] * fp16 absmax scale per 32, 8 values in 3 bytes", 32),
    describe<IntAsym<3, 32>>("int3_asym_g32", "3-bit asymmetric, fp16 scale + int zero point per 32", 32),
    describe<IntSym<4, 32>>("int4_sym_g32", "4-bit symmetric [-7,7] * fp16 absmax scale per 32", 32),
    describe<IntAsym<4, 32>>("int4_asym_g32", "4-bit asymmetric, fp16 scale + int zero point per 32 (AWQ/GPTQ storage)", 32),
    describe<IntAsym<4, 64>>("int4_asym_g64", "4-bit asymmetric, fp16 scale + int zero point per 64 (AWQ/GPTQ storage)", 64),
    describe<IntAsym<4, 128>>("int4_asym_g128", "4-bit asymmetric, fp16 scale + int zero point per 128 (AWQ/GPTQ storage)", 128),
    describe<IntSym<8, 32>>("int8_sym_g32", "8-bit symmetric [-127,127] * fp16 absmax scale per 32", 32),
    describe<IntAsym<8, 32>>("int8_asym_g32", "8-bit asymmetric, fp16 scale + int zero point per 32", 32),
    // The same codes as int4_asym_g128 etc., as tensor storage types (`tern quantize --format int4g128`).
    describe_storage<IntAsym<4, 128>>(DType::int4g128,
                                      "tern storage: 4-bit asymmetric per 128 of a row, fp16 scale + u8 zero (67 B)"),
    describe_storage<IntAsym<3, 128>>(DType::int3g128,
                                      "tern storage: 3-bit asymmetric per 128, 8 codes in 3 bytes, fp16 scale + u8 zero"),
    describe_storage<IntAsym<2, 128>>(DType::int2g128,
                                      "tern storage: 2-bit asymmetric per 128 of a row, fp16 scale + u8 zero (35 B)"),
};

}  // namespace

std::span<const FormatDescriptor> int_formats() { return kIntFormats; }

}  // namespace tern
