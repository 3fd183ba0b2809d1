// GGUF reader/writer: round trips, files written by llama.cpp's own library,
// files tern writes read back by llama.cpp, and hostile inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/half.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/model_info.h"
#include "ggml_gguf_writer.h"
#include "io_test_util.h"
#include "ref/reference.h"

namespace tern {
namespace {

using io::GgufMetadata;
using io::GgufType;
using io::GgufValue;
using testio::TempDir;

Tensor gguf_tensor_with_bytes(const Shape& shape, DType dtype, uint32_t seed) {
    Tensor t = Tensor::empty(shape, dtype);
    const auto bytes = testio::pattern_bytes(t.nbytes(), seed);
    std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    return t;
}

std::vector<uint8_t> gguf_tensor_bytes(const Tensor& t) {
    return std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + t.nbytes());
}

GgufMetadata every_metadata_type() {
    GgufMetadata md;
    md.emplace_back("general.architecture", GgufValue::of_string("llama"));
    md.emplace_back("v.u8", GgufValue::of_u8(255));
    md.emplace_back("v.i8", GgufValue::of_i8(-128));
    md.emplace_back("v.u16", GgufValue::of_u16(65535));
    md.emplace_back("v.i16", GgufValue::of_i16(-32768));
    md.emplace_back("v.u32", GgufValue::of_u32(4000000000u));
    md.emplace_back("v.i32", GgufValue::of_i32(std::numeric_limits<int32_t>::min()));
    md.emplace_back("v.f32", GgufValue::of_f32(-0.1f));
    md.emplace_back("v.bool", GgufValue::of_bool(true));
    md.emplace_back("v.bool_false", GgufValue::of_bool(false));
    md.emplace_back("v.string", GgufValue::of_string(std::string("h\xc3\xa9llo\n\0tail", 12)));
    md.emplace_back("v.empty_string", GgufValue::of_string(""));
    md.emplace_back("v.u64", GgufValue::of_u64(std::numeric_limits<uint64_t>::max()));
    md.emplace_back("v.i64", GgufValue::of_i64(std::numeric_limits<int64_t>::min()));
    md.emplace_back("v.f64", GgufValue::of_f64(1.0 / 3.0));
    md.emplace_back("a.u8", GgufValue::of_array<uint8_t>(GgufType::u8, {0, 1, 255}));
    md.emplace_back("a.i8", GgufValue::of_array<int8_t>(GgufType::i8, {-1, 2}));
    md.emplace_back("a.u16", GgufValue::of_array<uint16_t>(GgufType::u16, {7, 65535}));
    md.emplace_back("a.i16", GgufValue::of_array<int16_t>(GgufType::i16, {-7}));
    md.emplace_back("a.u32", GgufValue::of_array<uint32_t>(GgufType::u32, {1, 2, 3}));
    md.emplace_back("a.i32", GgufValue::of_array<int32_t>(GgufType::i32, {-1, 0, 1}));
    md.emplace_back("a.f32", GgufValue::of_array<float>(GgufType::f32, {0.5f, -2.f}));
    md.emplace_back("a.bool", GgufValue::of_array<uint8_t>(GgufType::boolean, {1, 0, 1}));
    md.emplace_back("a.u64", GgufValue::of_array<uint64_t>(GgufType::u64, {1ull << 63}));
    md.emplace_back("a.i64", GgufValue::of_array<int64_t>(GgufType::i64, {-(1ll << 62)}));
    md.emplace_back("a.f64", GgufValue::of_array<double>(GgufType::f64, {1e300, -1e-300}));
    md.emplace_back("a.empty", GgufValue::of_array<int32_t>(GgufType::i32, {}));
    std::vector<std::string> many;
    for (int k = 0; k < 1000; ++k) many.push_back("token" + std::to_string(k));
    md.emplace_back("a.strings", GgufValue::of_strings(many));
    md.emplace_back("a.nested", GgufValue::of_arrays({GgufValue::of_array<int32_t>(GgufType::i32, {1, 2}),
                                                      GgufValue::of_strings({"x", "yz"}),
                                                      GgufValue::of_arrays({GgufValue::of_strings({})})}));
    return md;
}

std::vector<NamedTensor> several_dtypes() {
    return {
        {"f32.matrix", gguf_tensor_with_bytes({3, 5}, DType::f32, 1)},
        {"f16.matrix", gguf_tensor_with_bytes({2, 8}, DType::f16, 2)},
        {"bf16.cube", gguf_tensor_with_bytes({2, 3, 4}, DType::bf16, 3)},
        {"q8_0.rows", gguf_tensor_with_bytes({2, 64}, DType::q8_0, 4)},
        {"q4_k.row", gguf_tensor_with_bytes({1, 256}, DType::q4_k, 5)},
        {"q6_k.4d", gguf_tensor_with_bytes({1, 2, 1, 256}, DType::q6_k, 6)},
        {"i32.vec", gguf_tensor_with_bytes({7}, DType::i32, 7)},
        {"i8.vec", gguf_tensor_with_bytes({3}, DType::i8, 8)},
        {"f64.vec", gguf_tensor_with_bytes({2}, DType::f64, 9)},
        {"empty", Tensor::empty({0, 4}, DType::f32)},
    };
}

TEST(Gguf, RoundTripEveryMetadataTypeAndDtype) {
    TempDir dir;
    const std::string path = dir.file("all.gguf");
    const auto md = every_metadata_type();
    const auto tensors = several_dtypes();
    io::write_gguf(path, md, tensors);

    const io::GgufModel m = io::read_gguf(path);
    EXPECT_EQ(m.info.version, 3u);
    EXPECT_EQ(m.info.alignment, 32u);
    EXPECT_EQ(m.info.data_offset % 32, 0u);
    ASSERT_EQ(m.info.metadata.size(), md.size());
    for (size_t k = 0; k < md.size(); ++k) {
        EXPECT_EQ(m.info.metadata[k].first, md[k].first);
        EXPECT_TRUE(m.info.metadata[k].second == md[k].second) << md[k].first << ": "
                                                                << m.info.metadata[k].second.to_text();
    }
    ASSERT_EQ(m.tensors.size(), tensors.size());
    for (size_t k = 0; k < tensors.size(); ++k) {
        SCOPED_TRACE(tensors[k].name);
        EXPECT_EQ(m.tensors[k].name, tensors[k].name);
        EXPECT_EQ(m.tensors[k].tensor.dtype(), tensors[k].tensor.dtype());
        EXPECT_EQ(m.tensors[k].tensor.shape(), tensors[k].tensor.shape());
        EXPECT_TRUE(m.tensors[k].tensor.read_only());  // a view into the mapping, not a copy
        EXPECT_EQ(gguf_tensor_bytes(m.tensors[k].tensor), gguf_tensor_bytes(tensors[k].tensor));
        EXPECT_EQ(m.info.tensors[k].file_offset % 32, 0u);
    }
    // The in-memory writer produces the same bytes as the file writer.
    EXPECT_EQ(io::gguf_to_bytes(md, tensors), testio::read_bytes(path));
}

TEST(Gguf, ValueTextSummarisesLongArrays) {
    const auto md = every_metadata_type();
    EXPECT_EQ(io::find_metadata(md, "a.strings")->to_text(), "[1000 strings]");
    EXPECT_EQ(io::find_metadata(md, "a.i32")->to_text(), "[-1, 0, 1]");
    EXPECT_EQ(io::find_metadata(md, "v.bool")->to_text(), "true");
    EXPECT_EQ(io::find_metadata(md, "general.architecture")->to_text(), "\"llama\"");
}

TEST(Gguf, CustomAlignmentIsHonoured) {
    TempDir dir;
    const std::string path = dir.file("a64.gguf");
    GgufMetadata md = {{"general.alignment", GgufValue::of_u32(64)}};
    io::write_gguf(path, md, several_dtypes());
    const auto m = io::read_gguf(path);
    EXPECT_EQ(m.info.alignment, 64u);
    EXPECT_EQ(m.info.data_offset % 64, 0u);
    for (const auto& t : m.info.tensors) EXPECT_EQ(t.file_offset % 64, 0u) << t.name;
}

TEST(Gguf, VersionTwoReadsTheSame) {
    auto bytes = io::gguf_to_bytes(every_metadata_type(), several_dtypes());
    bytes[4] = 2;  // v2 and v3 share the little-endian layout
    const auto f = io::parse_gguf(bytes, "v2.gguf");
    EXPECT_EQ(f.version, 2u);
    EXPECT_EQ(f.tensors.size(), several_dtypes().size());
}

TEST(Gguf, ShapeIsOutermostFirst) {
    // GGUF ne = {8 (row length), 3 (rows)} is tern Shape {3, 8}.
    const auto bytes = io::gguf_to_bytes({}, {{"w", Tensor::zeros({3, 8}, DType::f32)}});
    const auto f = io::parse_gguf(bytes, "s.gguf");
    ASSERT_EQ(f.tensors.size(), 1u);
    EXPECT_EQ(f.tensors[0].shape, (Shape{3, 8}));
    uint64_t ne0;  // the first dim in the file follows name (8 + 1 bytes) and n_dims (4)
    const std::string needle = std::string("\x01\x00\x00\x00\x00\x00\x00\x00w\x02\x00\x00\x00", 13);
    const auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
    ASSERT_NE(it, bytes.end());
    std::memcpy(&ne0, &*(it + 13), 8);
    EXPECT_EQ(ne0, 8u);
}

TEST(Gguf, WriterRejectsWhatGgufCannotStore) {
    TempDir dir;
    const std::string path = dir.file("bad.gguf");
    EXPECT_THROW(io::write_gguf(path, {}, {{"b", Tensor::zeros({4}, DType::boolean)}}), InputError);
    EXPECT_THROW(io::write_gguf(path, {}, {{"r5", Tensor::zeros({1, 1, 1, 1, 2})}}), InputError);
    EXPECT_THROW(io::write_gguf(path, {}, {{"x", Tensor::zeros({2})}, {"x", Tensor::zeros({2})}}), InputError);
    EXPECT_THROW(io::write_gguf(path, {{"k", GgufValue::of_u8(1)}, {"k", GgufValue::of_u8(2)}}, {}), InputError);
    // A failed write leaves nothing behind.
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- llama.cpp compatibility ------------------------------------------------

TEST(GgufLlamaCpp, ReadsFileWrittenByLlamaCpp) {
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    TempDir dir;
    const std::string path = dir.file("llama.gguf");
    testio::LlamaFileContents written;
    ASSERT_TRUE(testio::write_gguf_with_llama_cpp(path, &written)) << "a gguf symbol is missing from libggml-base";

    const auto m = io::read_gguf(path);
    const auto& md = m.info.metadata;
    auto get = [&](const char* key) -> const GgufValue& {
        const GgufValue* v = io::find_metadata(md, key);
        if (!v) throw std::runtime_error(std::string("missing key ") + key);
        return *v;
    };
    EXPECT_EQ(md.size(), 17u);
    EXPECT_EQ(get("general.architecture").s, "llama");
    EXPECT_EQ(get("general.name").s, "tern-test-tiny");
    EXPECT_EQ(get("llama.context_length").type, GgufType::u32);
    EXPECT_EQ(get("llama.context_length").u, 2048u);
    EXPECT_EQ(get("llama.embedding_length").u, 64u);
    EXPECT_EQ(get("test.u8").u, 200u);
    EXPECT_EQ(get("test.i8").i, -100);
    EXPECT_EQ(get("test.u16").u, 60000u);
    EXPECT_EQ(get("test.i16").i, -30000);
    EXPECT_EQ(get("test.i32").i, -2000000000);
    EXPECT_EQ(get("llama.attention.layer_norm_rms_epsilon").type, GgufType::f32);
    EXPECT_EQ(static_cast<float>(get("llama.attention.layer_norm_rms_epsilon").f), 1e-5f);
    EXPECT_EQ(get("test.u64").u, 18000000000000000000ull);
    EXPECT_EQ(get("test.i64").i, -9000000000000000000ll);
    EXPECT_EQ(get("test.f64").f, 3.141592653589793);
    EXPECT_EQ(get("test.bool").type, GgufType::boolean);
    EXPECT_EQ(get("test.bool").u, 1u);
    EXPECT_EQ(get("test.arr_i32").array_as<int32_t>(), (std::vector<int32_t>{1, -2, 3, 40000, -50000}));
    EXPECT_EQ(get("tokenizer.ggml.scores").array_as<float>(), (std::vector<float>{0.f, -1.5f, 2.25f}));
    const auto& tokens = get("tokenizer.ggml.tokens");
    ASSERT_EQ(tokens.strings.size(), 40u);
    EXPECT_EQ(tokens.strings[0], "tok0");
    EXPECT_EQ(tokens.strings[39], "tok39");

    ASSERT_EQ(m.tensors.size(), written.tensors.size());
    for (size_t k = 0; k < written.tensors.size(); ++k) {
        const auto& w = written.tensors[k];
        const auto& t = m.tensors[k];
        SCOPED_TRACE(w.name);
        EXPECT_EQ(t.name, w.name);
        EXPECT_EQ(io::ggml_type_from_dtype(t.tensor.dtype()).value(), static_cast<uint32_t>(w.type));
        Shape expect(w.ne.rbegin(), w.ne.rend());
        // ggml writes n_dims = the highest dim above 1, so trailing 1s in ne are dropped.
        while (expect.size() > 1 && expect.front() == 1) expect.erase(expect.begin());
        EXPECT_EQ(t.tensor.shape(), expect);
        EXPECT_EQ(gguf_tensor_bytes(t.tensor), w.bytes);
    }
}

TEST(GgufLlamaCpp, LlamaCppReadsFileWrittenByTern) {
    TERN_REQUIRE_REFERENCE(testref::ggml_reference());
    using namespace testref;
    auto init_from_file = ggml_symbol<void* (*)(const char*, testio::GgufInitParams)>("gguf_init_from_file");
    auto gguf_free = ggml_symbol<void (*)(void*)>("gguf_free");
    auto n_kv = ggml_symbol<int64_t (*)(const void*)>("gguf_get_n_kv");
    auto find_key = ggml_symbol<int64_t (*)(const void*, const char*)>("gguf_find_key");
    auto kv_type = ggml_symbol<int (*)(const void*, int64_t)>("gguf_get_kv_type");
    auto get_u64 = ggml_symbol<uint64_t (*)(const void*, int64_t)>("gguf_get_val_u64");
    auto get_str = ggml_symbol<const char* (*)(const void*, int64_t)>("gguf_get_val_str");
    auto arr_n = ggml_symbol<size_t (*)(const void*, int64_t)>("gguf_get_arr_n");
    auto arr_str = ggml_symbol<const char* (*)(const void*, int64_t, size_t)>("gguf_get_arr_str");
    auto n_tensors = ggml_symbol<int64_t (*)(const void*)>("gguf_get_n_tensors");
    auto tensor_name = ggml_symbol<const char* (*)(const void*, int64_t)>("gguf_get_tensor_name");
    auto tensor_type = ggml_symbol<int (*)(const void*, int64_t)>("gguf_get_tensor_type");
    auto tensor_offset = ggml_symbol<size_t (*)(const void*, int64_t)>("gguf_get_tensor_offset");
    auto tensor_size = ggml_symbol<size_t (*)(const void*, int64_t)>("gguf_get_tensor_size");
    auto data_offset = ggml_symbol<size_t (*)(const void*)>("gguf_get_data_offset");
    ASSERT_TRUE(init_from_file && gguf_free && n_kv && find_key && kv_type && get_u64 && get_str && arr_n &&
                arr_str && n_tensors && tensor_name && tensor_type && tensor_offset && tensor_size && data_offset);

    TempDir dir;
    const std::string path = dir.file("tern.gguf");
    GgufMetadata md = every_metadata_type();
    md.erase(std::remove_if(md.begin(), md.end(), [](const auto& kv) { return kv.first == "a.nested"; }), md.end());
    auto tensors = several_dtypes();
    tensors.pop_back();  // llama.cpp divides by ne[1] when checking sizes, so no zero-sized dims for it
    io::write_gguf(path, md, tensors);

    void* ctx = init_from_file(path.c_str(), {false, nullptr});  // no_alloc=false: llama.cpp reads all data too
    ASSERT_NE(ctx, nullptr) << "llama.cpp refused the file tern wrote";
    EXPECT_EQ(n_kv(ctx), static_cast<int64_t>(md.size()));
    const int64_t u64_key = find_key(ctx, "v.u64");
    ASSERT_GE(u64_key, 0);
    EXPECT_EQ(kv_type(ctx, u64_key), 10);
    EXPECT_EQ(get_u64(ctx, u64_key), std::numeric_limits<uint64_t>::max());
    EXPECT_STREQ(get_str(ctx, find_key(ctx, "general.architecture")), "llama");
    const int64_t strings_key = find_key(ctx, "a.strings");
    ASSERT_EQ(arr_n(ctx, strings_key), 1000u);
    EXPECT_STREQ(arr_str(ctx, strings_key, 999), "token999");
    ASSERT_EQ(n_tensors(ctx), static_cast<int64_t>(tensors.size()));
    const auto ours = io::read_gguf(path);
    EXPECT_EQ(data_offset(ctx), ours.info.data_offset);
    for (int64_t k = 0; k < n_tensors(ctx); ++k) {
        SCOPED_TRACE(tensors[k].name);
        EXPECT_EQ(tensor_name(ctx, k), tensors[k].name);
        EXPECT_EQ(static_cast<uint32_t>(tensor_type(ctx, k)), io::ggml_type_from_dtype(tensors[k].tensor.dtype()).value());
        EXPECT_EQ(tensor_offset(ctx, k), ours.info.tensors[k].offset);
        EXPECT_EQ(tensor_size(ctx, k), tensors[k].tensor.nbytes());
    }
    gguf_free(ctx);
}

}  // namespace
}  // namespace tern
