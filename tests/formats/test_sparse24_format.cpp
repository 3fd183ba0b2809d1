// The sparse24_q8 storage codec (formats/sparse24_block.h): a 2:4-sparse row
// stores exactly w8a8's codes for its nonzeros, a dense group keeps its 2
// largest weights, and the unpacker refuses every damaged field by name.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/sparse24_block.h"
#include "formats/w8a8_block.h"

namespace tern {
namespace {

// A (rows, k) matrix with 2 random nonzeros in every group of 4 (some groups fewer).
std::vector<float> s24fmt_pruned(int64_t rows, int64_t k, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> val(0.0f, 1.0f);
    std::uniform_int_distribution<int> pick(0, 3);
    std::vector<float> w(static_cast<size_t>(rows * k), 0.0f);
    for (int64_t g = 0; g < rows * k / 4; ++g) {
        const int a = pick(rng), b = (a + 1 + pick(rng) % 3) % 4;
        w[size_t(4 * g + a)] = val(rng);
        if (g % 7 != 0) w[size_t(4 * g + b)] = val(rng);  // every 7th group keeps only one
    }
    return w;
}

std::vector<uint8_t> s24fmt_encode(const std::vector<float>& w, int64_t rows, int64_t k) {
    std::vector<uint8_t> blocks(static_cast<size_t>(rows * k / kSparse24Group) * sizeof(Sparse24Block));
    for (int64_t r = 0; r < rows; ++r)
        sparse24_quantize_row(w.data() + r * k, blocks.data() + r * (k / kSparse24Group) * sizeof(Sparse24Block), k);
    return blocks;
}

TEST(Sparse24Format, PrunedRowsHoldW8A8sCodesExactly) {
    const int64_t rows = 5, k = 384;
    const auto w = s24fmt_pruned(rows, k, 3);
    ASSERT_TRUE(row_is_2of4_sparse(w.data(), rows * k));
    const auto blocks = s24fmt_encode(w, rows, k);
    const Sparse24Unpacked u = unpack_sparse24(blocks.data(), rows, k, "t");
    const std::vector<int8_t> dense = sparse24_dense_codes(u, rows, k);
    const FormatDescriptor& codec = *format_for_dtype(DType::sparse24_q8);
    for (int64_t r = 0; r < rows; ++r) {
        std::vector<uint8_t> w8(static_cast<size_t>(k / kW8A8Group) * sizeof(W8A8Block));
        w8a8_quantize_row(w.data() + r * k, w8.data(), k, 0.0f);
        const W8A8Unpacked ref = unpack_w8a8(w8.data(), 1, k, "ref");
        EXPECT_EQ(u.row_scales[size_t(r)], ref.row_scales[0]) << "row " << r;
        for (int64_t c = 0; c < k; ++c) ASSERT_EQ(dense[size_t(r * k + c)], ref.codes[size_t(c)]) << r << ", " << c;
        // The codec's dequantize gives the same values as w8a8's.
        std::vector<float> a(static_cast<size_t>(k)), b(static_cast<size_t>(k));
        codec.dequantize(blocks.data() + r * (k / kSparse24Group) * sizeof(Sparse24Block), a.data(), k);
        format_for_dtype(DType::w8a8)->dequantize(w8.data(), b.data(), k);
        for (int64_t c = 0; c < k; ++c) ASSERT_EQ(a[size_t(c)], b[size_t(c)]) << r << ", " << c;
    }
    EXPECT_EQ(codec.block_bytes, 84u);
    EXPECT_EQ(codec.block_size, 128u);
}

TEST(Sparse24Format, ADenseGroupKeepsItsTwoLargestWeights) {
    std::vector<float> x(128, 0.0f);
    x[0] = 1.0f, x[1] = -3.0f, x[2] = 0.5f, x[3] = 2.0f;  // keeps columns 1 and 3
    x[4] = 4.0f;                                         // one nonzero: kept, a zero beside it
    EXPECT_FALSE(row_is_2of4_sparse(x.data(), 128));
    std::vector<uint8_t> b(sizeof(Sparse24Block));
    sparse24_quantize_row(x.data(), b.data(), 128);
    std::vector<float> y(128);
    format_for_dtype(DType::sparse24_q8)->dequantize(b.data(), y.data(), 128);
    const float d = 4.0f / 127;
    EXPECT_EQ(y[0], 0.0f);
    EXPECT_NEAR(y[1], -3.0f, d);
    EXPECT_EQ(y[2], 0.0f);
    EXPECT_NEAR(y[3], 2.0f, d);
    EXPECT_NEAR(y[4], 4.0f, 1e-6);
    for (int i = 5; i < 128; ++i) EXPECT_EQ(y[size_t(i)], 0.0f) << i;
    EXPECT_NO_THROW(unpack_sparse24(b.data(), 1, 128, "t"));  // positions of the codec's output are canonical
}

// Every damaged field of a valid 2-row, 256-column tensor is refused, naming the tensor.
TEST(Sparse24Format, UnpackRefusesDamagedBlocks) {
    const int64_t rows = 2, k = 256;
    const auto good = s24fmt_encode(s24fmt_pruned(rows, k, 5), rows, k);
    ASSERT_NO_THROW(unpack_sparse24(good.data(), rows, k, "t"));
    struct Damage {
        const char* what;
        void (*apply)(Sparse24Block&);
        const char* says;
    };
    const Damage damages[] = {
        {"equal positions", [](Sparse24Block& b) { b.pos[3] = static_cast<uint8_t>((b.pos[3] & 0xF0) | 1 | 1 << 2); },
         "ascending positions"},
        {"descending positions", [](Sparse24Block& b) { b.pos[0] = static_cast<uint8_t>((b.pos[0] & 0x0F) | (3 | 0 << 2) << 4); },
         "ascending positions"},
        {"negative scale", [](Sparse24Block& b) { b.d = -1.0f; }, "negative or non-finite scale"},
        {"NaN scale", [](Sparse24Block& b) { b.d = NAN; }, "negative or non-finite scale"},
        {"other scale", [](Sparse24Block& b) { b.d *= 2.0f; }, "different scales"},
        {"code -128", [](Sparse24Block& b) { b.qs[10] = -128; }, "-128"},
    };
    for (const Damage& dmg : damages) {
        auto bad = good;
        Sparse24Block b;
        const size_t at = 3 * sizeof(Sparse24Block);  // row 1, second block
        std::memcpy(&b, bad.data() + at, sizeof b);
        dmg.apply(b);
        std::memcpy(bad.data() + at, &b, sizeof b);
        try {
            unpack_sparse24(bad.data(), rows, k, "blk.0.ffn_up.weight");
            ADD_FAILURE() << dmg.what << " was accepted";
        } catch (const InputError& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find("blk.0.ffn_up.weight"), std::string::npos) << msg;
            EXPECT_NE(msg.find(dmg.says), std::string::npos) << dmg.what << ": " << msg;
        }
    }
    EXPECT_THROW(unpack_sparse24(good.data(), 1, 200, "t"), InputError);  // K not a multiple of 128
}

}  // namespace
}  // namespace tern
