#include "formats/nonfinite_scan.h"

#include <cstddef>
#include <cstring>
#include <atomic>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/gguf_blocks.h"

namespace tern {
namespace {

// Where a dtype keeps its floats: every element (stride = width, one field),
// or `fields` adjacent scales at `offset` in each block of `stride` bytes.
struct FloatFields {
    int width = 0;  // bytes per value: 1, 2, 4 or 8; 0 = no floats stored
    uint64_t exp_mask = 0, man_mask = 0;
    size_t stride = 0, offset = 0;
    int fields = 1;
};

constexpr uint64_t kF16Exp = 0x7c00, kF16Man = 0x03ff;

FloatFields float_fields(DType t) {
    const auto f16_scales = [](size_t stride, size_t offset, int fields) {
        return FloatFields{2, kF16Exp, kF16Man, stride, offset, fields};
    };
    switch (t) {
        case DType::f32: return {4, 0x7f800000u, 0x007fffffu, 4, 0, 1};
        case DType::f16: return {2, kF16Exp, kF16Man, 2, 0, 1};
        case DType::bf16: return {2, 0x7f80, 0x007f, 2, 0, 1};
        case DType::f64: return {8, 0x7ff0000000000000ull, 0x000fffffffffffffull, 8, 0, 1};
        case DType::fp8_e4m3: return {1, 0x7f, 0x7f, 1, 0, 1};  // no Inf; S.1111.111 is NaN
        case DType::fp8_e5m2: return {1, 0x7c, 0x03, 1, 0, 1};
        case DType::q4_0: return f16_scales(sizeof(BlockQ4_0), offsetof(BlockQ4_0, d), 1);
        case DType::q4_1: return f16_scales(sizeof(BlockQ4_1), offsetof(BlockQ4_1, d), 2);
        case DType::q5_0: return f16_scales(sizeof(BlockQ5_0), offsetof(BlockQ5_0, d), 1);
        case DType::q5_1: return f16_scales(sizeof(BlockQ5_1), offsetof(BlockQ5_1, d), 2);
        case DType::q8_0: return f16_scales(sizeof(BlockQ8_0), offsetof(BlockQ8_0, d), 1);
        case DType::q8_1: return f16_scales(sizeof(BlockQ8_1), offsetof(BlockQ8_1, d), 2);
        case DType::q2_k: return f16_scales(sizeof(BlockQ2_K), offsetof(BlockQ2_K, d), 2);
        case DType::q3_k: return f16_scales(sizeof(BlockQ3_K), offsetof(BlockQ3_K, d), 1);
        case DType::q4_k: return f16_scales(sizeof(BlockQ4_K), offsetof(BlockQ4_K, d), 2);
        case DType::q5_k: return f16_scales(sizeof(BlockQ5_K), offsetof(BlockQ5_K, d), 2);
        case DType::q6_k: return f16_scales(sizeof(BlockQ6_K), offsetof(BlockQ6_K, d), 1);
        case DType::q8_k: return {4, 0x7f800000u, 0x007fffffu, sizeof(BlockQ8_K), offsetof(BlockQ8_K, d), 1};
        // tern's group-wise ints: fp16 scale first, then the u8 zero point and codes.
        case DType::int4g128: case DType::int3g128: case DType::int2g128:
            return f16_scales(dtype_info(t).block_bytes, 0, 1);
        // w8a8: an f32 row scale and an f32 activation scale, then the codes.
        case DType::w8a8: return {4, 0x7f800000u, 0x007fffffu, dtype_info(t).block_bytes, 0, 2};
        // sparse24_q8: an f32 row scale, then positions and codes.
        case DType::sparse24_q8: return {4, 0x7f800000u, 0x007fffffu, dtype_info(t).block_bytes, 0, 1};
        default: return {};
    }
}

// memcpy keeps unaligned values (safetensors data need not be aligned) defined;
// with a constant stride the loop still vectorizes.
template <class U>
U load(const uint8_t* p) {
    U v;
    std::memcpy(&v, p, sizeof(U));
    return v;
}

template <class U>
uint64_t count_plain(const uint8_t* p, int64_t n, U exp) {
    uint64_t c = 0;
    for (int64_t i = 0; i < n; ++i) c += (load<U>(p + i * sizeof(U)) & exp) == exp;
    return c;
}

template <class U>
uint64_t count_strided(const uint8_t* p, int64_t n, const FloatFields& f) {
    const U exp = static_cast<U>(f.exp_mask);
    uint64_t c = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int k = 0; k < f.fields; ++k) c += (load<U>(p + i * f.stride + f.offset + k * sizeof(U)) & exp) == exp;
    return c;
}

// Non-finite values in items [0, n) (elements, or blocks).
uint64_t count_range(const uint8_t* p, int64_t n, const FloatFields& f) {
    const bool plain = f.stride == static_cast<size_t>(f.width);
    switch (f.width) {
        case 1: return count_plain<uint8_t>(p, n, static_cast<uint8_t>(f.exp_mask));
        case 2: return plain ? count_plain<uint16_t>(p, n, static_cast<uint16_t>(f.exp_mask)) : count_strided<uint16_t>(p, n, f);
        case 4: return plain ? count_plain<uint32_t>(p, n, static_cast<uint32_t>(f.exp_mask)) : count_strided<uint32_t>(p, n, f);
        case 8: return count_plain<uint64_t>(p, n, f.exp_mask);
        default: return 0;
    }
}

uint64_t bits_at(const uint8_t* p, int width) {
    switch (width) {
        case 1: return *p;
        case 2: return load<uint16_t>(p);
        case 4: return load<uint32_t>(p);
        default: return load<uint64_t>(p);
    }
}

}  // namespace

NonfiniteScan scan_nonfinite(const Tensor& t_in) {
    NonfiniteScan s;
    const FloatFields f = float_fields(t_in.dtype());
    if (f.width == 0 || t_in.numel() == 0) return s;
    const Tensor t = t_in.is_contiguous() ? t_in : t_in.contiguous();
    const DTypeInfo& info = dtype_info(t.dtype());
    s.in_block_scales = info.is_block_quantized;
    const int64_t n = info.is_block_quantized ? t.numel() / info.block_size : t.numel();
    const uint8_t* p = t.data<uint8_t>();
    std::atomic<uint64_t> total{0};
    // Memory-bound: threads help a multi-GiB checkpoint load.
    parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
        total.fetch_add(count_range(p + static_cast<size_t>(b) * f.stride, e - b, f), std::memory_order_relaxed);
    });
    s.count = total.load();
    if (s.count == 0) return s;
    for (int64_t i = 0; i < n && s.first < 0; ++i)  // rare path: find the first for the message
        for (int k = 0; k < f.fields; ++k) {
            const uint64_t v = bits_at(p + static_cast<size_t>(i) * f.stride + f.offset + k * f.width, f.width);
            if ((v & f.exp_mask) == f.exp_mask) {
                s.first = i;
                s.first_is_nan = (v & f.man_mask) != 0;
                break;
            }
        }
    return s;
}

uint64_t count_nonfinite(const float* x, int64_t n) {
    return count_plain<uint32_t>(reinterpret_cast<const uint8_t*>(x), n, 0x7f800000u);
}

std::string describe_nonfinite(const NonfiniteScan& s, const std::string& name) {
    if (s.count == 0) return "";
    const char* kind = s.first_is_nan ? "NaN" : "Inf";
    const char* plural = s.count == 1 ? "" : "s";
    if (s.in_block_scales)
        return format("tensor '%s' holds %llu non-finite block scale%s (the first, %s, in block %lld)", name.c_str(),
                      (unsigned long long)s.count, plural, kind, (long long)s.first);
    return format("tensor '%s' holds %llu non-finite value%s (the first, %s, at element %lld)", name.c_str(),
                  (unsigned long long)s.count, plural, kind, (long long)s.first);
}

void require_finite_tensor(const Tensor& t, const std::string& file, const std::string& name, const std::string& hint) {
    const NonfiniteScan s = scan_nonfinite(t);
    if (s.count) throw InputError(file, describe_nonfinite(s, name) + hint);
}

}  // namespace tern
