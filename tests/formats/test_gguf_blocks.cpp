// GGUF block formats vs llama.cpp's own ggml (libggml-base.so, opened with
// dlopen): quantized bytes and dequantized floats must be identical. Plus
// round-trip error budgets, output bounds (guard bytes) and registry entries.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/half.h"
#include "formats/format.h"
#include "formats/gguf_blocks.h"
#include "../ref/ggml_ref.h"
#include "../ref/reference.h"

namespace tern {
namespace {

// ------------------------------------------------------------ ggml ABI we use
// Mirrors `struct ggml_type_traits` of ggml.h (llama.cpp releases since the
// CPU backend split, incl. the one shipped in node-llama-cpp 3.22.1). The
// layout is checked at run time against ggml_blck_size/ggml_type_size/
// ggml_type_name before any function pointer from it is used.
struct GgmlTypeTraits {
    const char* type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    bool is_quantized;
    void (*to_float)(const void* x, float* y, int64_t k);
    void (*from_float_ref)(const float* x, void* y, int64_t k);
};

using GetTraitsFn = const GgmlTypeTraits* (*)(int type);
using QuantizeChunkFn = size_t (*)(int type, const float* src, void* dst, int64_t start, int64_t nrows,
                                   int64_t n_per_row, const float* imatrix);
using QuantizeInitFn = void (*)(int type);
using TypeNameFn = const char* (*)(int type);
using TypeSizeFn = size_t (*)(int type);
using BlckSizeFn = int64_t (*)(int type);
using RowRefFn = void (*)(const float* x, void* y, int64_t k);

struct GgufBlocksTypeCase {
    const char* name;       // tern format name
    int ggml_type;          // enum ggml_type value (stable: it is written into GGUF files)
    const char* ggml_name;  // ggml_type_name()
    const char* ref_symbol;
    bool chunk;             // ggml_quantize_chunk supports it (weights, not activation formats)
    double rel_rms_budget;  // round-trip budget on N(0,1) data
};

// Budgets: measured rel. RMS error on 16k N(0,1) values (in parentheses) plus ~15% margin.
const GgufBlocksTypeCase kCases[] = {
    {"q4_0", 2, "q4_0", "quantize_row_q4_0_ref", true, 0.097},    // (0.0845)
    {"q4_1", 3, "q4_1", "quantize_row_q4_1_ref", true, 0.089},    // (0.0774)
    {"q5_0", 6, "q5_0", "quantize_row_q5_0_ref", true, 0.048},    // (0.0419)
    {"q5_1", 7, "q5_1", "quantize_row_q5_1_ref", true, 0.043},    // (0.0373)
    {"q8_0", 8, "q8_0", "quantize_row_q8_0_ref", true, 0.0061},   // (0.00527)
    {"q8_1", 9, "q8_1", "quantize_row_q8_1_ref", false, 0.0061},  // (0.00527)
    {"q2_k", 10, "q2_K", "quantize_row_q2_K_ref", true, 0.335},   // (0.291)
    {"q3_k", 11, "q3_K", "quantize_row_q3_K_ref", true, 0.172},   // (0.149)
    {"q4_k", 12, "q4_K", "quantize_row_q4_K_ref", true, 0.081},   // (0.0704)
    {"q5_k", 13, "q5_K", "quantize_row_q5_K_ref", true, 0.041},   // (0.0354)
    {"q6_k", 14, "q6_K", "quantize_row_q6_K_ref", true, 0.020},   // (0.0175)
    {"q8_k", 15, "q8_K", "quantize_row_q8_K_ref", false, 0.0077}, // (0.00667)
};

// ------------------------------------------------------------ test data
// Own generator (splitmix64 + Box-Muller) so data are identical with any
// standard library.
class GgufBlocksRng {
public:
    explicit GgufBlocksRng(uint64_t seed) : s_(seed) {}
    uint64_t next() {
        uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
    double gaussian() {
        const double u1 = 1.0 - uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    double laplace() { return (uniform() < 0.5 ? -1.0 : 1.0) * -std::log(1.0 - uniform()); }

private:
    uint64_t s_;
};

struct DataSet {
    std::string name;
    std::vector<float> x;
};

// Every data set for a format with block size bs. Most are 32 blocks long;
// "blocks_1".."blocks_8" cover short rows.
std::vector<DataSet> make_data_sets(int bs) {
    std::vector<DataSet> sets;
    const int n = 32 * bs;
    auto gen = [&](const std::string& name, uint64_t seed, int count, const std::function<float(GgufBlocksRng&, int)>& f) {
        GgufBlocksRng rng(seed);
        DataSet d{name, std::vector<float>(static_cast<size_t>(count))};
        for (int i = 0; i < count; ++i) d.x[static_cast<size_t>(i)] = f(rng, i);
        sets.push_back(std::move(d));
    };
    gen("gaussian", 1, n, [](GgufBlocksRng& r, int) { return static_cast<float>(r.gaussian()); });
    gen("gaussian_shifted", 2, n, [](GgufBlocksRng& r, int) { return static_cast<float>(3.0 + r.gaussian()); });
    gen("laplace", 3, n, [](GgufBlocksRng& r, int) { return static_cast<float>(r.laplace()); });
    gen("outliers", 4, n, [](GgufBlocksRng& r, int) {
        const double v = r.gaussian();
        return static_cast<float>(r.uniform() < 0.01 ? 50.0 * v : v);
    });
    // Magnitudes varying by 10^+-3 every 16 values: stresses sub-block scale quantization.
    {
        GgufBlocksRng scale_rng(5);
        std::vector<double> scales(static_cast<size_t>(n / 16));
        for (auto& s : scales) s = std::pow(10.0, 6.0 * scale_rng.uniform() - 3.0);
        gen("mixed_scales", 6, n, [&](GgufBlocksRng& r, int i) { return static_cast<float>(scales[i / 16] * r.gaussian()); });
    }
    gen("zeros", 7, n, [](GgufBlocksRng&, int) { return 0.0f; });
    gen("constant_pos", 8, n, [](GgufBlocksRng&, int) { return 0.37f; });
    gen("constant_neg", 9, n, [](GgufBlocksRng&, int) { return -2.5f; });
    gen("tiny_1e-30", 10, n, [](GgufBlocksRng& r, int) { return static_cast<float>(1e-30 * r.gaussian()); });
    gen("tiny_1e-6", 11, n, [](GgufBlocksRng& r, int) { return static_cast<float>(1e-6 * r.gaussian()); });
    gen("single_large", 12, n, [bs](GgufBlocksRng& r, int i) {
        // Per block, one value of +-1000 among N(0, 0.01) noise.
        const int pos = static_cast<int>((static_cast<uint64_t>(i / bs) * 7919u) % static_cast<uint64_t>(bs));
        const double noise = 0.01 * r.gaussian();
        return static_cast<float>(i % bs == pos ? ((i / bs) % 2 ? -1000.0 : 1000.0) : noise);
    });
    gen("single_nonzero", 13, n, [bs](GgufBlocksRng&, int i) {
        const int pos = (i / bs * 37) % bs;
        return i % bs == pos ? ((i / bs) % 2 ? 3.0f : -0.75f) : 0.0f;
    });
    gen("integers", 14, n, [](GgufBlocksRng& r, int) { return static_cast<float>(std::floor(r.uniform() * 17.0) - 8.0); });
    // 96 blocks, each drawn from a random distribution, scale 10^U(-8, 8) and offset.
    {
        GgufBlocksRng block_rng(15);
        struct BlockKind { int kind; double scale, offset; };
        std::vector<BlockKind> kinds(96);
        for (auto& k : kinds)
            k = {static_cast<int>(block_rng.next() % 4), std::pow(10.0, 16.0 * block_rng.uniform() - 8.0),
                 block_rng.uniform() < 0.5 ? 0.0 : 2.0 * block_rng.gaussian()};
        gen("random_mix", 16, 96 * bs, [&](GgufBlocksRng& r, int i) {
            const BlockKind& k = kinds[static_cast<size_t>(i / bs)];
            const double v = k.kind == 0 ? r.gaussian() : k.kind == 1 ? r.laplace() : k.kind == 2 ? r.uniform() : (r.uniform() < 0.05 ? 30.0 : 1.0) * r.gaussian();
            return static_cast<float>(k.scale * (v + k.offset));
        });
    }
    for (int b = 1; b <= 8; ++b)
        gen("blocks_" + std::to_string(b), 100 + static_cast<uint64_t>(b), b * bs,
            [](GgufBlocksRng& r, int) { return static_cast<float>(r.gaussian()); });
    return sets;
}

// ------------------------------------------------------------ helpers
std::string hex_bytes(const uint8_t* p, size_t n) {
    std::string s;
    char buf[4];
    for (size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", p[i]);
        s += buf;
    }
    return s;
}

// Number of blocks whose bytes differ; logs the first few differing blocks.
int64_t count_block_mismatches(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, size_t block_bytes,
                               const std::string& what) {
    int64_t bad = 0;
    for (size_t off = 0; off < a.size(); off += block_bytes) {
        if (std::memcmp(a.data() + off, b.data() + off, block_bytes) == 0) continue;
        if (++bad <= 3)
            ADD_FAILURE() << what << ": block " << off / block_bytes << " differs\n  tern: "
                          << hex_bytes(a.data() + off, block_bytes) << "\n  ggml: " << hex_bytes(b.data() + off, block_bytes);
    }
    return bad;
}

const FormatDescriptor& fmt_of(const GgufBlocksTypeCase& c) { return format_by_name(c.name); }

class GgufVsGgml : public ::testing::TestWithParam<GgufBlocksTypeCase> {};

TEST_P(GgufVsGgml, BytesAndFloatsIdentical) {
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    const GgufBlocksTypeCase& c = GetParam();
    const auto get_traits = testref::ggml_symbol<GetTraitsFn>("ggml_get_type_traits");
    const auto type_name = testref::ggml_symbol<TypeNameFn>("ggml_type_name");
    const auto type_size = testref::ggml_symbol<TypeSizeFn>("ggml_type_size");
    const auto blck_size = testref::ggml_symbol<BlckSizeFn>("ggml_blck_size");
    const auto quantize_chunk = testref::ggml_symbol<QuantizeChunkFn>("ggml_quantize_chunk");
    const auto quantize_init = testref::ggml_symbol<QuantizeInitFn>("ggml_quantize_init");
    const auto row_ref = testref::ggml_symbol<RowRefFn>(c.ref_symbol);
    ASSERT_TRUE(get_traits && type_name && type_size && blck_size && quantize_chunk && quantize_init && row_ref);

    const FormatDescriptor& f = fmt_of(c);
    // The enum id, the traits layout and our geometry must all agree before
    // trusting any function pointer from the traits table.
    ASSERT_STREQ(type_name(c.ggml_type), c.ggml_name);
    ASSERT_EQ(blck_size(c.ggml_type), f.block_size);
    ASSERT_EQ(type_size(c.ggml_type), f.block_bytes);
    const GgmlTypeTraits* tr = get_traits(c.ggml_type);
    ASSERT_NE(tr, nullptr);
    ASSERT_STREQ(tr->type_name, c.ggml_name);
    ASSERT_EQ(tr->blck_size, f.block_size);
    ASSERT_EQ(tr->type_size, f.block_bytes);
    ASSERT_TRUE(tr->is_quantized);
    if (c.chunk) quantize_init(c.ggml_type);
    // ggml's traits have no to_float for the activation formats; q8_K still
    // exports its dequantizer.
    using ToFloatFn = void (*)(const void*, float*, int64_t);
    ToFloatFn to_float = tr->to_float;
    const char* to_float_name = "to_float";
    const std::string deq_symbol = std::string("dequantize_row_") + c.ggml_name;
    if (!to_float) {
        to_float = testref::ggml_symbol<ToFloatFn>(deq_symbol.c_str());
        to_float_name = deq_symbol.c_str();
    }

    int64_t blocks = 0, chunk_blocks = 0, floats = 0, bad_blocks = 0, bad_floats = 0;
    for (const DataSet& d : make_data_sets(static_cast<int>(f.block_size))) {
        SCOPED_TRACE(std::string(c.name) + " / " + d.name);
        const int64_t n = static_cast<int64_t>(d.x.size());
        const size_t bytes = f.bytes_for(n);
        // Same zero prefill for both: ggml's q8_K leaves bsums of all-zero blocks unwritten.
        std::vector<uint8_t> ours(bytes, 0), theirs(bytes, 0);
        f.quantize(d.x.data(), ours.data(), n);
        row_ref(d.x.data(), theirs.data(), n);
        const int64_t bad_ref = count_block_mismatches(ours, theirs, f.block_bytes, "vs " + std::string(c.ref_symbol));
        EXPECT_EQ(bad_ref, 0);
        bad_blocks += bad_ref;
        blocks += n / f.block_size;

        if (c.chunk) {
            std::vector<uint8_t> chunk(bytes, 0);
            ASSERT_EQ(quantize_chunk(c.ggml_type, d.x.data(), chunk.data(), 0, 1, n, nullptr), bytes);
            const int64_t bad_chunk = count_block_mismatches(ours, chunk, f.block_bytes, "vs ggml_quantize_chunk");
            EXPECT_EQ(bad_chunk, 0);
            bad_blocks += bad_chunk;
            chunk_blocks += n / f.block_size;
        }

        if (to_float) {
            std::vector<float> y_ours(static_cast<size_t>(n)), y_theirs(static_cast<size_t>(n));
            f.dequantize(ours.data(), y_ours.data(), n);
            to_float(ours.data(), y_theirs.data(), n);
            int64_t bad = 0;
            for (int64_t i = 0; i < n; ++i) {
                uint32_t a, b;
                std::memcpy(&a, &y_ours[static_cast<size_t>(i)], 4);
                std::memcpy(&b, &y_theirs[static_cast<size_t>(i)], 4);
                if (a != b && ++bad <= 3)
                    ADD_FAILURE() << "dequantized float " << i << ": tern " << y_ours[static_cast<size_t>(i)] << " ggml "
                                  << y_theirs[static_cast<size_t>(i)];
            }
            EXPECT_EQ(bad, 0);
            bad_floats += bad;
            floats += n;
        }
    }
    std::printf("[ gguf     ] %-5s blocks compared: %lld vs %s, %lld vs ggml_quantize_chunk, %lld differing; "
                "floats compared: %lld vs ggml %s, %lld differing\n",
                c.name, static_cast<long long>(blocks), c.ref_symbol, static_cast<long long>(chunk_blocks),
                static_cast<long long>(bad_blocks), static_cast<long long>(floats),
                to_float ? to_float_name : "(none: ggml has no dequantizer for this type)",
                static_cast<long long>(bad_floats));
}

INSTANTIATE_TEST_SUITE_P(Gguf, GgufVsGgml, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<GgufBlocksTypeCase>& info) { return std::string(info.param.name); });

// ------------------------------------------------------------ ggml-independent checks

TEST(GgufFormats, RegistryEntries) {
    const auto formats = gguf_formats();
    ASSERT_EQ(formats.size(), std::size(kCases));
    for (size_t i = 0; i < formats.size(); ++i) {
        const FormatDescriptor& f = formats[i];
        EXPECT_EQ(f.name, kCases[i].name);
        EXPECT_EQ(f.family, "gguf");
        ASSERT_TRUE(f.dtype.has_value());
        const DTypeInfo& info = dtype_info(*f.dtype);
        EXPECT_EQ(info.name, f.name);
        EXPECT_EQ(info.block_size, f.block_size);
        EXPECT_EQ(info.block_bytes, f.block_bytes);
        EXPECT_EQ(format_for_dtype(*f.dtype), find_format(f.name));
    }
    EXPECT_DOUBLE_EQ(format_by_name("q4_k").bits_per_weight(), 4.5);
    EXPECT_DOUBLE_EQ(format_by_name("q6_k").bits_per_weight(), 6.5625);
    EXPECT_DOUBLE_EQ(format_by_name("q2_k").bits_per_weight(), 2.625);
}

double rel_rms_error(const FormatDescriptor& f, const std::vector<float>& x) {
    const std::vector<float> y = round_trip(f, x);
    double num = 0, den = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        num += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        den += static_cast<double>(x[i]) * x[i];
    }
    return std::sqrt(num / den);
}

TEST(GgufFormats, RoundTripErrorBudgets) {
    GgufBlocksRng rng(42);
    std::vector<float> x(16384);
    for (float& v : x) v = static_cast<float>(rng.gaussian());
    for (const GgufBlocksTypeCase& c : kCases) {
        const double e = rel_rms_error(fmt_of(c), x);
        std::printf("[ gguf     ] %-5s rel. RMS error on N(0,1): %.5f (budget %.4f)\n", c.name, e, c.rel_rms_budget);
        EXPECT_LT(e, c.rel_rms_budget) << c.name;
        EXPECT_GT(e, 0.0) << c.name;
    }
}

TEST(GgufFormats, SpecialRowsRoundTrip) {
    for (const GgufBlocksTypeCase& c : kCases) {
        const FormatDescriptor& f = fmt_of(c);
        const size_t n = 2 * f.block_size;
        // All zeros reconstruct exactly.
        for (float v : round_trip(f, std::vector<float>(n, 0.0f))) EXPECT_EQ(v, 0.0f) << c.name;
        // The max-magnitude value of a symmetric block is recovered to fp16 precision.
        std::vector<float> x(n, 0.0f);
        x[3] = -7.0f;
        x[n - 1] = 5.0f;
        const auto y = round_trip(f, x);
        EXPECT_NEAR(y[3], -7.0f, 7.0f * 2e-3f) << c.name;
        EXPECT_NEAR(y[n - 1], 5.0f, 5.0f * 2e-3f) << c.name;
    }
}

TEST(GgufFormats, NoWritesOutsideOutput) {
    constexpr size_t kGuard = 64;
    constexpr uint8_t kPattern = 0xA5;
    for (const GgufBlocksTypeCase& c : kCases) {
        const FormatDescriptor& f = fmt_of(c);
        for (int nb : {1, 3}) {
            const int64_t n = nb * static_cast<int64_t>(f.block_size);
            GgufBlocksRng rng(static_cast<uint64_t>(nb));
            std::vector<float> x(static_cast<size_t>(n));
            for (float& v : x) v = static_cast<float>(rng.laplace());
            const size_t bytes = f.bytes_for(n);
            std::vector<uint8_t> buf(kGuard + bytes + kGuard, kPattern);
            f.quantize(x.data(), buf.data() + kGuard, n);
            for (size_t i = 0; i < kGuard; ++i) {
                EXPECT_EQ(buf[i], kPattern) << c.name << " wrote before its output";
                EXPECT_EQ(buf[kGuard + bytes + i], kPattern) << c.name << " wrote past its output";
            }
            std::vector<float> y(kGuard + static_cast<size_t>(n) + kGuard, -123.0f);
            f.dequantize(buf.data() + kGuard, y.data() + kGuard, n);
            for (size_t i = 0; i < kGuard; ++i) {
                EXPECT_EQ(y[i], -123.0f) << c.name << " dequantize wrote before its output";
                EXPECT_EQ(y[kGuard + static_cast<size_t>(n) + i], -123.0f) << c.name << " dequantize wrote past its output";
            }
            // Quantizing into a dirty buffer gives the same bytes as into a clean one.
            std::vector<uint8_t> clean(bytes, 0);
            f.quantize(x.data(), clean.data(), n);
            EXPECT_EQ(std::memcmp(clean.data(), buf.data() + kGuard, bytes), 0) << c.name << " depends on prior contents";
        }
    }
}

TEST(GgufFormats, Q8_1SumMatchesQuants) {
    GgufBlocksRng rng(9);
    std::vector<float> x(4 * kQK8_1);
    for (float& v : x) v = static_cast<float>(rng.gaussian());
    std::vector<BlockQ8_1> blocks(4);
    quantize_row_q8_1(x.data(), blocks.data(), static_cast<int64_t>(x.size()));
    for (const BlockQ8_1& b : blocks) {
        int sum = 0;
        for (int8_t q : b.qs) sum += q;
        EXPECT_NEAR(fp16_to_fp32(b.s), fp16_to_fp32(b.d) * sum, std::fabs(fp16_to_fp32(b.d) * sum) * 2e-3 + 1e-6);
    }
}

}  // namespace
}  // namespace tern
