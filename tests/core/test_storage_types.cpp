// The storage type table (core/storage_types.h) against every reader: names and
// sizes (core/dtype), ggml ids and file types (io/gguf_types), the codecs
// (formats/), and the packed kernels (quant_matmul). A row that a reader
// disagrees with fails here, not in a model file.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <cmath>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/storage_types.h"
#include "formats/format.h"
#include "io/gguf_types.h"
#include "kernels/quant_matmul/quant_matmul.h"

namespace tern {
namespace {

std::vector<float> storage_types_random_floats(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

TEST(StorageTypes, EveryRowRoundTripsNameDtypeAndGgmlId) {
    ASSERT_EQ(kStorageTypes.size(), static_cast<size_t>(DType::count_));
    for (const StorageType& s : kStorageTypes) {
        SCOPED_TRACE(std::string(s.name));
        EXPECT_EQ(&dtype_info(s.dtype), &s);
        EXPECT_EQ(dtype_name(s.dtype), s.name);
        EXPECT_EQ(dtype_from_name(s.name), s.dtype);
        EXPECT_EQ(dtype_bytes_for(s.dtype, 3ull * s.block_size), 3ull * s.block_bytes);
        EXPECT_EQ(io::ggml_type_from_dtype(s.dtype), s.ggml_type);
        EXPECT_EQ(io::llama_file_type_from_dtype(s.dtype), s.llama_ftype);
        if (s.ggml_type) {
            EXPECT_EQ(io::dtype_from_ggml_type(*s.ggml_type), s.dtype);
        }
        EXPECT_EQ(s.is_float, s.kind == StorageKind::float_);
        EXPECT_EQ(s.is_block_quantized, s.kind == StorageKind::block);
    }
    EXPECT_FALSE(io::dtype_from_ggml_type(4).has_value()) << "ggml's removed Q4_2 stays unknown";
    EXPECT_FALSE(dtype_from_name("int4_asym_g128").has_value()) << "a study format, not a storage type";
}

TEST(StorageTypes, TernsOwnBlockTypesUseThePrivateGgmlRange) {
    for (DType t : {DType::int4g128, DType::int3g128, DType::int2g128, DType::w8a8}) {
        const StorageType& s = storage_type(t);
        ASSERT_TRUE(s.ggml_type.has_value()) << s.name;
        EXPECT_GE(*s.ggml_type, kTernPrivateGgmlTypes) << s.name;
        EXPECT_FALSE(s.llama_ftype.has_value()) << s.name << ": llama.cpp has no file type for it";
    }
    for (const StorageType& s : kStorageTypes)
        if (s.ggml_type && *s.ggml_type >= kTernPrivateGgmlTypes) {
            EXPECT_TRUE(s.name.substr(0, 3) == "int" || s.name == "w8a8" || s.name == "sparse24_q8") << s.name;
        }
}

// Every block type (and every float type but f64) has a codec whose geometry is
// the row's, and whose quantizer writes exactly block_bytes per block.
TEST(StorageTypes, CodecsEncodeTheRowsBlockBytes) {
    for (const StorageType& s : kStorageTypes) {
        SCOPED_TRACE(std::string(s.name));
        const FormatDescriptor* f = format_for_dtype(s.dtype);
        const bool needs_codec = s.is_block_quantized || (s.is_float && s.dtype != DType::f64);
        if (!f) {
            EXPECT_FALSE(needs_codec) << "no formats/ codec";
            continue;
        }
        EXPECT_EQ(f->name, s.name);
        EXPECT_EQ(f->dtype, s.dtype);
        EXPECT_EQ(f->block_size, s.block_size);
        EXPECT_EQ(f->block_bytes, s.block_bytes);
        const int64_t n = 2 * s.block_size;
        const auto x = storage_types_random_floats(n, 7);
        std::vector<uint8_t> out(2 * s.block_bytes + 64, 0xA5);
        f->quantize(x.data(), out.data(), n);
        for (size_t i = 2 * s.block_bytes; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << "wrote past 2 blocks";
        std::vector<float> y(static_cast<size_t>(n));
        f->dequantize(out.data(), y.data(), n);
        for (float v : y) EXPECT_TRUE(std::isfinite(v));
    }
}

// Every row with a kernel packs, and the packed rows decode to the codec's values
// bit for bit; every kernel type but the group-dependent int4_asym has its row.
TEST(StorageTypes, EveryRowWithAKernelTypePacks) {
    int packed = 0;
    for (const StorageType& s : kStorageTypes) {
        SCOPED_TRACE(std::string(s.name));
        const auto qk = quant_kernel_for_dtype(s.dtype);
        ASSERT_EQ(qk.has_value(), s.has_kernel());
        if (!qk) continue;
        EXPECT_EQ(quant_type_name(qk->type), s.kernel);
        EXPECT_EQ(quant_block_elems(qk->type, qk->group), static_cast<int>(s.block_size));
        EXPECT_EQ(quant_block_bytes(qk->type, qk->group), static_cast<int>(s.block_bytes));
        const FormatDescriptor& f = *format_for_dtype(s.dtype);
        const int64_t n = 19, k = 2 * s.block_size;
        const auto x = storage_types_random_floats(n * k, 11);
        std::vector<uint8_t> blocks(f.bytes_for(n * k));
        for (int64_t r = 0; r < n; ++r) f.quantize(x.data() + r * k, blocks.data() + r * f.bytes_for(k), k);
        const QuantMatrix w = pack_quant_matrix(qk->type, blocks.data(), n, k, qk->group);
        EXPECT_EQ(w.source_bytes(), blocks.size());
        std::vector<float> want(static_cast<size_t>(k)), got(static_cast<size_t>(k));
        for (int64_t r = 0; r < n; ++r) {
            f.dequantize(blocks.data() + r * f.bytes_for(k), want.data(), k);
            unpack_quant_row(w, r, got.data());
            ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0) << "row " << r;
        }
        ++packed;
    }
    EXPECT_EQ(packed, 11);  // q4_0 q4_1 q5_0 q5_1 q8_0 q2_k..q6_k, int4g128
    for (int q = 0; q < static_cast<int>(QuantType::count_); ++q) {
        const auto t = static_cast<QuantType>(q);
        if (t == QuantType::int4_asym) continue;
        const DType d = quant_type_dtype(t);
        ASSERT_NE(d, DType::count_) << quant_type_name(t);
        EXPECT_EQ(dtype_info(d).kernel, quant_type_name(t));
    }
    EXPECT_EQ(quant_kernel_for_dtype(DType::int4g128)->type, QuantType::int4_asym);
    EXPECT_EQ(quant_kernel_for_dtype(DType::int4g128)->group, 128);
}

}  // namespace
}  // namespace tern
