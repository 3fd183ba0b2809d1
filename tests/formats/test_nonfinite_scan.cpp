// The NaN / Inf scan that loaders run on every weight: each float dtype's bit
// patterns (quiet and signalling NaN, ±Inf, the largest finite value right
// next to them), the scales of GGUF blocks (found where ggml puts them), and
// data that is not 8-byte aligned (safetensors need not align it).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/half.h"
#include "formats/gguf_blocks.h"
#include "formats/nonfinite_scan.h"

namespace tern {
namespace {

template <class U>
Tensor bits_tensor(DType t, const std::vector<U>& bits) {
    Tensor out = Tensor::empty({static_cast<int64_t>(bits.size())}, t);
    std::memcpy(out.raw_data(), bits.data(), bits.size() * sizeof(U));
    return out;
}

TEST(NonfiniteScan, FindsNanAndInfInEveryFloatDtype) {
    const float inf = std::numeric_limits<float>::infinity();
    const float big = std::numeric_limits<float>::max();
    // f32: the largest finite value is not flagged; -Inf and a signalling NaN are.
    {
        std::vector<float> v(1000, 1.0f);
        v[3] = big, v[4] = -big, v[500] = -inf, v[999] = std::numeric_limits<float>::signaling_NaN();
        const NonfiniteScan s = scan_nonfinite(Tensor::from_floats({1000}, v));
        EXPECT_EQ(s.count, 2u);
        EXPECT_EQ(s.first, 500);
        EXPECT_FALSE(s.first_is_nan);
        EXPECT_FALSE(s.in_block_scales);
        EXPECT_EQ(count_nonfinite(v.data(), 1000), 2u);
        EXPECT_EQ(count_nonfinite(v.data(), 500), 0u);
    }
    // f16: 65504 (0x7bff) is finite, 0x7c00 is +Inf, 0xfe00 a NaN.
    {
        const auto s = scan_nonfinite(bits_tensor<uint16_t>(DType::f16, {0x3c00, 0x7bff, 0xfbff, 0xfe00, 0x7c00}));
        EXPECT_EQ(s.count, 2u);
        EXPECT_EQ(s.first, 3);
        EXPECT_TRUE(s.first_is_nan);
    }
    // bf16: 0x7f7f is finite (3.39e38), 0x7f80 +Inf, 0x7fc1 NaN.
    {
        const auto s = scan_nonfinite(bits_tensor<uint16_t>(DType::bf16, {0x7f7f, 0xff7f, 0x7f80, 0x7fc1}));
        EXPECT_EQ(s.count, 2u);
        EXPECT_EQ(s.first, 2);
        EXPECT_FALSE(s.first_is_nan);
    }
    {
        const double dinf = std::numeric_limits<double>::infinity();
        std::vector<uint64_t> b(4);
        const double vals[4] = {1.0, std::numeric_limits<double>::max(), std::nan(""), -dinf};
        std::memcpy(b.data(), vals, sizeof vals);
        const auto s = scan_nonfinite(bits_tensor<uint64_t>(DType::f64, b));
        EXPECT_EQ(s.count, 2u);
        EXPECT_EQ(s.first, 2);
        EXPECT_TRUE(s.first_is_nan);
    }
    // fp8 E4M3 has no Inf: 0x7e (448) is finite, only 0x7f / 0xff are NaN. E5M2: 0x7c is Inf.
    EXPECT_EQ(scan_nonfinite(bits_tensor<uint8_t>(DType::fp8_e4m3, {0x7e, 0xfe, 0x78, 0xff})).count, 1u);
    EXPECT_EQ(scan_nonfinite(bits_tensor<uint8_t>(DType::fp8_e5m2, {0x7b, 0x7c, 0xfd, 0x00})).count, 2u);
    // Integers never hold one, whatever their bits.
    EXPECT_EQ(scan_nonfinite(bits_tensor<uint16_t>(DType::i16, {0x7c00, 0xffff})).count, 0u);
}

TEST(NonfiniteScan, UnalignedAndNonContiguousData) {
    std::vector<float> v(64 * 64, 0.5f);
    v[64 * 7 + 3] = std::numeric_limits<float>::infinity();
    const Tensor t = Tensor::from_floats({64, 64}, v);
    const NonfiniteScan s = scan_nonfinite(t.transpose(0, 1));  // copied first; element index in the copy
    EXPECT_EQ(s.count, 1u);
    EXPECT_EQ(s.first, 3 * 64 + 7);
    // count_nonfinite reads floats; an odd byte offset must still work (memcpy loads).
    std::vector<uint8_t> fraw(1 + 4 * 5);
    const float f[5] = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4, 5};
    std::memcpy(fraw.data() + 1, f, sizeof f);
    EXPECT_EQ(count_nonfinite(reinterpret_cast<const float*>(fraw.data() + 1), 5), 1u);
}

// A tensor of `blocks` zeroed blocks of `t`, with one 16-bit field of block `b`
// at byte `offset` set to `bits`.
Tensor blocks_with(DType t, int64_t blocks, int64_t b, size_t offset, uint16_t bits) {
    const DTypeInfo& info = dtype_info(t);
    Tensor out = Tensor::empty({2, blocks / 2 * info.block_size}, t);
    std::memset(out.raw_data(), 0, out.nbytes());
    std::memcpy(out.raw_data() + b * info.block_bytes + offset, &bits, 2);
    return out;
}

TEST(NonfiniteScan, FindsNonfiniteScalesOfGgufBlocks) {
    struct Case {
        DType t;
        size_t d_offset;  // where ggml keeps the block's f16 d
        bool has_min;     // a second f16 (m / dmin / s) right after d
    };
    const Case cases[] = {
        {DType::q4_0, offsetof(BlockQ4_0, d), false}, {DType::q4_1, offsetof(BlockQ4_1, d), true},
        {DType::q5_0, offsetof(BlockQ5_0, d), false}, {DType::q5_1, offsetof(BlockQ5_1, d), true},
        {DType::q8_0, offsetof(BlockQ8_0, d), false}, {DType::q8_1, offsetof(BlockQ8_1, d), true},
        {DType::q2_k, offsetof(BlockQ2_K, d), true},  {DType::q3_k, offsetof(BlockQ3_K, d), false},
        {DType::q4_k, offsetof(BlockQ4_K, d), true},  {DType::q5_k, offsetof(BlockQ5_K, d), true},
        {DType::q6_k, offsetof(BlockQ6_K, d), false},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(std::string(dtype_name(c.t)));
        EXPECT_EQ(scan_nonfinite(blocks_with(c.t, 6, 4, c.d_offset, 0x7bff)).count, 0u);
        const NonfiniteScan d = scan_nonfinite(blocks_with(c.t, 6, 4, c.d_offset, 0x7c00));
        EXPECT_EQ(d.count, 1u);
        EXPECT_EQ(d.first, 4);
        EXPECT_TRUE(d.in_block_scales);
        // Block 3, not the last: where d ends the block (q3_K, q6_K) d_offset + 2 is the next block's first quants.
        const NonfiniteScan m = scan_nonfinite(blocks_with(c.t, 6, 3, c.d_offset + 2, 0xfc01));
        EXPECT_EQ(m.count, c.has_min ? 1u : 0u);
        // The quants themselves may hold any byte: all-ones quants are not scales.
        Tensor q = blocks_with(c.t, 6, 0, c.d_offset, 0);
        const DTypeInfo& info = dtype_info(c.t);
        for (int64_t b = 0; b < 6; ++b)
            for (size_t k = 0; k < info.block_bytes; ++k)
                if (k < c.d_offset || k >= c.d_offset + (c.has_min ? 4 : 2)) q.raw_data()[b * info.block_bytes + k] = 0xff;
        EXPECT_EQ(scan_nonfinite(q).count, 0u);
    }
}

TEST(NonfiniteScan, RequireFiniteNamesFileAndTensor) {
    std::vector<float> v(10, 0.f);
    v[7] = std::numeric_limits<float>::quiet_NaN();
    try {
        require_finite_tensor(Tensor::from_floats({10}, v), "m.gguf", "blk.0.attn_q.weight", "; hint");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(std::string(e.what()),
                  "[m.gguf] tensor 'blk.0.attn_q.weight' holds 1 non-finite value (the first, NaN, at element 7); hint");
    }
    EXPECT_NO_THROW(require_finite_tensor(Tensor::from_floats({3}, std::vector<float>{1, 2, 3}), "m.gguf", "x"));
}

}  // namespace
}  // namespace tern
