// Importance-weighted GGUF quantizers (formats/gguf_blocks_imatrix.h) against
// llama.cpp's own: ggml_quantize_chunk with an imatrix from libggml-base.so
// (dlopen) must give the same bytes. Plus: a null importance is the reference
// quantizer byte for byte, and on skewed importance the weighted search never
// loses to the reference on the importance-weighted squared error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "formats/format.h"
#include "formats/gguf_blocks_imatrix.h"
#include "../ref/ggml_ref.h"
#include "../ref/reference.h"

namespace tern {
namespace {

using QuantizeChunkFn = size_t (*)(int type, const float* src, void* dst, int64_t start, int64_t nrows,
                                   int64_t n_per_row, const float* imatrix);
using QuantizeInitFn = void (*)(int type);
using TypeNameFn = const char* (*)(int type);

struct WeightedCase {
    const char* name;       // tern format
    int ggml_type;          // enum ggml_type
    const char* ggml_name;  // ggml_type_name()
};

const WeightedCase kWeightedCases[] = {
    {"q4_0", 2, "q4_0"}, {"q4_1", 3, "q4_1"}, {"q5_0", 6, "q5_0"}, {"q5_1", 7, "q5_1"}, {"q2_k", 10, "q2_K"},
    {"q3_k", 11, "q3_K"}, {"q4_k", 12, "q4_K"}, {"q5_k", 13, "q5_K"}, {"q6_k", 14, "q6_K"},
};

// splitmix64 + Box-Muller: the same data with any standard library.
class GgufBlocksImatrixRng {
public:
    explicit GgufBlocksImatrixRng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double gaussian() {
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    uint64_t s_;
};

constexpr int64_t kCols = 512;  // two K-quant super-blocks, sixteen legacy blocks per row
constexpr int64_t kRows = 24;

// Weight-like rows (gaussian, a few outliers, one offset row set) and a skewed
// importance: log-normal per column with a handful of columns 100x hotter.
struct GgufBlocksImatrixData {
    std::vector<float> x, importance;
};
GgufBlocksImatrixData gguf_blocks_imatrix_make_data(uint64_t seed) {
    GgufBlocksImatrixRng r(seed);
    GgufBlocksImatrixData d;
    d.x.resize(static_cast<size_t>(kRows * kCols));
    for (int64_t i = 0; i < kRows * kCols; ++i) {
        double v = 0.05 * r.gaussian();
        if (r.uniform() < 0.01) v *= 8;
        if ((i / kCols) % 6 == 5) v += 0.03;  // rows with an offset (the min fits matter)
        d.x[static_cast<size_t>(i)] = static_cast<float>(v);
    }
    d.importance.resize(static_cast<size_t>(kCols));
    for (auto& w : d.importance) w = static_cast<float>(std::exp(1.5 * r.gaussian()) * (r.uniform() < 0.03 ? 100 : 1));
    return d;
}

double weighted_error(const FormatDescriptor& f, const std::vector<uint8_t>& q, const GgufBlocksImatrixData& d) {
    std::vector<float> y(d.x.size());
    const uint64_t row_bytes = f.bytes_for(kCols);
    for (int64_t r = 0; r < kRows; ++r) f.dequantize(q.data() + r * row_bytes, y.data() + r * kCols, kCols);
    double e = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        const double diff = static_cast<double>(d.x[i]) - y[i];
        e += d.importance[i % kCols] * diff * diff;
    }
    return e;
}

std::vector<uint8_t> gguf_blocks_imatrix_quantize_rows(const FormatDescriptor& f, const GgufBlocksImatrixData& d, const float* importance) {
    const uint64_t row_bytes = f.bytes_for(kCols);
    std::vector<uint8_t> q(row_bytes * kRows, 0);
    for (int64_t r = 0; r < kRows; ++r)
        EXPECT_TRUE(quantize_row_weighted(f, d.x.data() + r * kCols, q.data() + r * row_bytes, kCols, importance));
    return q;
}

class GgufImatrix : public ::testing::TestWithParam<WeightedCase> {};

TEST_P(GgufImatrix, NullImportanceIsTheReferenceQuantizer) {
    const FormatDescriptor& f = format_by_name(GetParam().name);
    const GgufBlocksImatrixData d = gguf_blocks_imatrix_make_data(1);
    std::vector<uint8_t> ref(f.bytes_for(kCols) * kRows, 0);
    f.quantize(d.x.data(), ref.data(), kRows * kCols);
    EXPECT_EQ(gguf_blocks_imatrix_quantize_rows(f, d, nullptr), ref);
}

TEST_P(GgufImatrix, WeightedErrorNoWorseThanReference) {
    const FormatDescriptor& f = format_by_name(GetParam().name);
    for (uint64_t seed : {2, 3, 4}) {
        const GgufBlocksImatrixData d = gguf_blocks_imatrix_make_data(seed);
        const double e_ref = weighted_error(f, gguf_blocks_imatrix_quantize_rows(f, d, nullptr), d);
        const double e_w = weighted_error(f, gguf_blocks_imatrix_quantize_rows(f, d, d.importance.data()), d);
        EXPECT_LE(e_w, e_ref) << f.name << " seed " << seed;
        std::printf("[ imatrix  ] %-5s seed %llu: weighted error %.4g (reference quantizer %.4g, %.3fx)\n",
                    std::string(f.name).c_str(), static_cast<unsigned long long>(seed), e_w, e_ref, e_w / e_ref);
    }
}

TEST_P(GgufImatrix, BytesIdenticalToGgmlQuantizeChunkWithImatrix) {
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    const WeightedCase& c = GetParam();
    const auto quantize_chunk = testref::ggml_symbol<QuantizeChunkFn>("ggml_quantize_chunk");
    const auto quantize_init = testref::ggml_symbol<QuantizeInitFn>("ggml_quantize_init");
    const auto type_name = testref::ggml_symbol<TypeNameFn>("ggml_type_name");
    ASSERT_TRUE(quantize_chunk && quantize_init && type_name);
    ASSERT_STREQ(type_name(c.ggml_type), c.ggml_name);
    quantize_init(c.ggml_type);
    const FormatDescriptor& f = format_by_name(c.name);
    int64_t blocks = 0, bad = 0;
    for (uint64_t seed : {5, 6}) {
        const GgufBlocksImatrixData d = gguf_blocks_imatrix_make_data(seed);
        const std::vector<uint8_t> ours = gguf_blocks_imatrix_quantize_rows(f, d, d.importance.data());
        std::vector<uint8_t> theirs(ours.size(), 0);
        ASSERT_EQ(quantize_chunk(c.ggml_type, d.x.data(), theirs.data(), 0, kRows, kCols, d.importance.data()),
                  theirs.size());
        for (size_t off = 0; off < ours.size(); off += f.block_bytes) {
            ++blocks;
            if (std::memcmp(ours.data() + off, theirs.data() + off, f.block_bytes) != 0 && ++bad <= 3)
                ADD_FAILURE() << c.name << " seed " << seed << ": block " << off / f.block_bytes << " differs";
        }
    }
    EXPECT_EQ(bad, 0);
    std::printf("[ imatrix  ] %-5s %lld blocks vs ggml_quantize_chunk(imatrix), %lld differing\n", c.name,
                static_cast<long long>(blocks), static_cast<long long>(bad));
}

INSTANTIATE_TEST_SUITE_P(Gguf, GgufImatrix, ::testing::ValuesIn(kWeightedCases),
                         [](const ::testing::TestParamInfo<WeightedCase>& i) { return std::string(i.param.name); });

TEST(GgufImatrixFormats, FormatsWithoutAWeightedSearchSayNo) {
    EXPECT_FALSE(has_weighted_quantizer(format_by_name("q8_0")));
    EXPECT_FALSE(has_weighted_quantizer(format_by_name("f16")));
    float x[32] = {};
    uint8_t out[64] = {};
    EXPECT_FALSE(quantize_row_weighted(format_by_name("q8_0"), x, out, 32, x));
}

}  // namespace
}  // namespace tern
