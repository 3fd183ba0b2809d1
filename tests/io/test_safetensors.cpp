// safetensors: round trips, files exported from PyTorch, sharded checkpoints,
// hostile inputs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/model_info.h"
#include "io/safetensors.h"
#include "io_test_util.h"
#include "ref/reference.h"

namespace tern {
namespace {

using testio::TempDir;

Tensor safetensors_tensor_with_bytes(const Shape& shape, DType dtype, uint32_t seed) {
    Tensor t = Tensor::empty(shape, dtype);
    const auto bytes = testio::pattern_bytes(t.nbytes(), seed);
    if (!bytes.empty()) std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    return t;
}

std::vector<uint8_t> safetensors_tensor_bytes(const Tensor& t) {
    return std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + t.nbytes());
}

std::vector<NamedTensor> every_dtype() {
    return {
        {"z.f32", safetensors_tensor_with_bytes({3, 5}, DType::f32, 1)},   {"a.f16", safetensors_tensor_with_bytes({2, 8}, DType::f16, 2)},
        {"m.bf16", safetensors_tensor_with_bytes({2, 3, 4}, DType::bf16, 3)}, {"f64", safetensors_tensor_with_bytes({3}, DType::f64, 4)},
        {"i64", safetensors_tensor_with_bytes({2}, DType::i64, 5)},        {"i32", safetensors_tensor_with_bytes({1, 1, 3}, DType::i32, 6)},
        {"i16", safetensors_tensor_with_bytes({5}, DType::i16, 7)},        {"i8", safetensors_tensor_with_bytes({7}, DType::i8, 8)},
        {"u8", safetensors_tensor_with_bytes({9}, DType::u8, 9)},          {"bool", Tensor::zeros({4}, DType::boolean)},
        {"e4m3", safetensors_tensor_with_bytes({6}, DType::fp8_e4m3, 10)}, {"e5m2", safetensors_tensor_with_bytes({6}, DType::fp8_e5m2, 11)},
        {"scalar", safetensors_tensor_with_bytes({}, DType::f32, 12)},     {"empty", Tensor::zeros({0, 2}, DType::f32)},
    };
}

TEST(Safetensors, RoundTripEveryDtype) {
    TempDir dir;
    const std::string path = dir.file("m.safetensors");
    const auto tensors = every_dtype();
    const std::map<std::string, std::string> md = {{"format", "pt"}, {"note", "h\xc3\xa9 \"quoted\""}};
    io::write_safetensors(path, tensors, md);
    const auto bytes = testio::read_bytes(path);
    EXPECT_EQ(bytes, io::safetensors_to_bytes(tensors, md));

    uint64_t n;
    std::memcpy(&n, bytes.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u) << "data buffer must start 8-byte aligned";
    const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
    EXPECT_LT(header.find("\"a.f16\""), header.find("\"z.f32\"")) << "keys are sorted";

    const auto m = io::read_safetensors(path);
    ASSERT_EQ(m.infos.size(), 1u);
    EXPECT_EQ(m.infos[0].metadata, (std::vector<std::pair<std::string, std::string>>(md.begin(), md.end())));
    ASSERT_EQ(m.tensors.size(), tensors.size());
    for (const auto& want : tensors) {
        SCOPED_TRACE(want.name);
        const auto it = std::find_if(m.tensors.begin(), m.tensors.end(), [&](const auto& t) { return t.name == want.name; });
        ASSERT_NE(it, m.tensors.end());
        EXPECT_EQ(it->tensor.dtype(), want.tensor.dtype());
        EXPECT_EQ(it->tensor.shape(), want.tensor.shape());
        EXPECT_EQ(safetensors_tensor_bytes(it->tensor), safetensors_tensor_bytes(want.tensor));
    }
    // Data is laid out in the sorted key order, so file order equals name order here.
    for (size_t k = 1; k < m.infos[0].tensors.size(); ++k)
        EXPECT_LE(m.infos[0].tensors[k - 1].end, m.infos[0].tensors[k].begin);
}

TEST(Safetensors, WriterRejectsBlockFormatsAndLeavesNothing) {
    TempDir dir;
    const std::string path = dir.file("q.safetensors");
    EXPECT_THROW(io::write_safetensors(path, {{"q", Tensor::zeros({32}, DType::q8_0)}}), InputError);
    EXPECT_THROW(io::write_safetensors(path, {{"x", Tensor::zeros({2})}, {"x", Tensor::zeros({2})}}), InputError);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Safetensors, ShardedCheckpointThroughIndexAndFolder) {
    TempDir dir;
    io::write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                          {{"a", safetensors_tensor_with_bytes({2, 2}, DType::f32, 1)}, {"b", safetensors_tensor_with_bytes({3}, DType::f16, 2)}});
    io::write_safetensors(dir.file("model-00002-of-00002.safetensors"), {{"c", safetensors_tensor_with_bytes({4}, DType::bf16, 3)}});
    const nlohmann::json index = {{"metadata", {{"total_size", 30}}},
                                  {"weight_map",
                                   {{"a", "model-00001-of-00002.safetensors"},
                                    {"b", "model-00001-of-00002.safetensors"},
                                    {"c", "model-00002-of-00002.safetensors"}}}};
    const std::string index_path = dir.file("model.safetensors.index.json");
    const std::string text = index.dump();
    testio::write_bytes(index_path, std::vector<uint8_t>(text.begin(), text.end()));

    for (const std::string& p : {index_path, dir.path()}) {
        const auto tensors = load_tensors(p);
        ASSERT_EQ(tensors.size(), 3u) << p;
        EXPECT_EQ(tensors[0].name, "a");
        EXPECT_EQ(tensors[2].name, "c");
        EXPECT_EQ(safetensors_tensor_bytes(tensors[2].tensor), safetensors_tensor_bytes(safetensors_tensor_with_bytes({4}, DType::bf16, 3)));
    }
    const auto info = read_model_info(dir.path());
    EXPECT_EQ(info.container, "safetensors (2 shards)");
    EXPECT_EQ(info.parameters, 11u);

    // A weight_map entry whose shard lacks the tensor, and a shard outside the folder.
    nlohmann::json bad = index;
    bad["weight_map"]["d"] = "model-00002-of-00002.safetensors";
    std::string t2 = bad.dump();
    testio::write_bytes(index_path, std::vector<uint8_t>(t2.begin(), t2.end()));
    EXPECT_THROW(load_tensors(index_path), InputError);
    bad = index;
    bad["weight_map"]["c"] = "../elsewhere.safetensors";
    t2 = bad.dump();
    testio::write_bytes(index_path, std::vector<uint8_t>(t2.begin(), t2.end()));
    try {
        load_tensors(index_path);
        FAIL() << "accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("outside the checkpoint folder"), std::string::npos) << e.what();
    }
}

// ---- PyTorch reference -----------------------------------------------------------


std::vector<double> values_as_double(const Tensor& t) {
    std::vector<double> out;
    if (t.dtype() == DType::f64) {
        out.resize(static_cast<size_t>(t.numel()));
        if (!out.empty()) std::memcpy(out.data(), t.data<uint8_t>(), out.size() * 8);
        return out;
    }
    if (t.dtype() == DType::i64) {  // to_floats would round large values; these tests keep them exact
        for (int64_t k = 0; k < t.numel(); ++k) {
            int64_t v;
            std::memcpy(&v, t.data<uint8_t>() + 8 * k, 8);
            out.push_back(static_cast<double>(v));
        }
        return out;
    }
    for (float v : t.to_floats()) out.push_back(v);
    return out;
}

TEST(SafetensorsTorch, ReadsFilesExportedFromPyTorch) {
    TERN_REQUIRE_REFERENCE(testref::python_module_reference("torch", "Debian python3-torch, run scripts/setup.sh"));
    TempDir dir;
    const std::string cmd = "/usr/bin/python3 " + std::string(TERN_SOURCE_DIR) + "/tests/ref/export_safetensors.py " + dir.path();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const auto expected_bytes = testio::read_bytes(dir.file("expected.json"));
    const auto expected = nlohmann::json::parse(expected_bytes.begin(), expected_bytes.end());

    auto tensors = load_tensors(dir.file("model.safetensors"));
    for (auto& nt : load_tensors(dir.file("sharded"))) tensors.push_back({"sharded/" + nt.name, nt.tensor});
    ASSERT_EQ(tensors.size(), expected.size());
    for (const auto& nt : tensors) {
        SCOPED_TRACE(nt.name);
        ASSERT_TRUE(expected.contains(nt.name));
        const auto& e = expected[nt.name];
        EXPECT_EQ(io::dtype_from_safetensors_name(e["dtype"].get<std::string>()).value(), nt.tensor.dtype());
        EXPECT_EQ(nt.tensor.shape(), e["shape"].get<Shape>());
        // Decoded values must equal torch's exactly: f16/bf16 widen to f32 without rounding.
        EXPECT_EQ(values_as_double(nt.tensor), e["values"].get<std::vector<double>>());
    }
    const auto info = read_model_info(dir.file("model.safetensors"));
    EXPECT_EQ(info.metadata.front(), (std::pair<std::string, std::string>("format", "pt")));
}

// ---- hostile inputs ---------------------------------------------------------------

const std::string kSafetensorsPath = "/models/hostile.safetensors";

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes, uint64_t length_override = 0) {
    std::vector<uint8_t> b(8);
    const uint64_t n = length_override ? length_override : header.size();
    std::memcpy(b.data(), &n, 8);
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + data_bytes, 0);
    return b;
}

void safetensors_expect_rejected(const std::vector<uint8_t>& bytes, const std::string& needle) {
    try {
        io::parse_safetensors(bytes, kSafetensorsPath);
        ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("[" + kSafetensorsPath + "]", 0), 0u) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape, const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
}

TEST(SafetensorsHostile, TruncatedAtEveryByteThrows) {
    const auto full = io::safetensors_to_bytes(
        {{"a", Tensor::zeros({2, 3}, DType::f32)}, {"b", Tensor::zeros({5}, DType::bf16)}}, {{"k", "v"}});
    EXPECT_NO_THROW(io::parse_safetensors(full, kSafetensorsPath));
    for (size_t n = 0; n < full.size(); ++n) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        EXPECT_THROW(io::parse_safetensors(cut, kSafetensorsPath), InputError) << n;
        EXPECT_THROW(model_info_from_bytes(cut, kSafetensorsPath), InputError) << n;
    }
}

TEST(SafetensorsHostile, HeaderLength) {
    safetensors_expect_rejected(with_header("{}", 0, 1ull << 62), "exceeds the 104857600-byte limit");
    safetensors_expect_rejected(with_header("{}", 0, 1000), "header length 1000 but only 2 bytes follow");
    safetensors_expect_rejected(with_header("{}", 0, 0xffffffffffffffffull), "exceeds");
    safetensors_expect_rejected({1, 0, 0}, "truncated: header length");
    safetensors_expect_rejected(with_header(" {}", 0), "does not start with '{'");
}

TEST(SafetensorsHostile, BadJson) {
    safetensors_expect_rejected(with_header("{\"a\":", 0), "not valid JSON");
    safetensors_expect_rejected(with_header("{\"a\":{\"dtype\":\"F32\"}} trailing", 0), "not valid JSON");
    safetensors_expect_rejected(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[[[[1]]]],\"data_offsets\":[0,4]}}", 4), "nested deeper");
    safetensors_expect_rejected(with_header("{\"a\":1}", 0), "tensor 'a': entry is not an object");
    safetensors_expect_rejected(with_header("{\"__metadata__\":{\"k\":1}}", 0), "__metadata__ value 'k' is not a string");
    safetensors_expect_rejected(with_header("{" + entry("a", "F32", "[1]", "[0,4]") + "," + entry("a", "F32", "[1]", "[4,8]") + "}", 8),
                    "duplicate tensor name 'a'");
}

TEST(SafetensorsHostile, BadEntries) {
    auto one = [](const std::string& dtype, const std::string& shape, const std::string& offsets, size_t data) {
        return with_header("{" + entry("w", dtype, shape, offsets) + "}", data);
    };
    safetensors_expect_rejected(one("F32", "[2]", "[0,8]", 4), "tensor 'w': data ends at buffer byte 8 but the buffer has 4");
    safetensors_expect_rejected(one("F32", "[2]", "[8,0]", 8), "tensor 'w': data_offsets [8, 0] run backwards");
    safetensors_expect_rejected(one("F32", "[3]", "[0,8]", 16), "tensor 'w': 8 bytes stored but shape [3] of F32 needs 12");
    safetensors_expect_rejected(one("C64", "[1]", "[0,8]", 8), "tensor 'w': unsupported dtype 'C64'");
    safetensors_expect_rejected(one("F32", "[-1]", "[0,0]", 0), "tensor 'w': shape entry must be a non-negative integer");
    safetensors_expect_rejected(one("F32", "[1.5]", "[0,0]", 0), "shape entry must be a non-negative integer");
    safetensors_expect_rejected(one("F32", "[4294967296,4294967296]", "[0,0]", 0), "tensor 'w': shape overflows");
    safetensors_expect_rejected(one("F32", "[0,4294967296,4294967296]", "[0,0]", 0), "tensor 'w': shape overflows");
    safetensors_expect_rejected(one("F32", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]", "[0,4]", 4), "rank 17 exceeds 16");
    safetensors_expect_rejected(one("F32", "[4611686018427387904]", "[0,0]", 0), "byte size of shape [4611686018427387904] overflows");
    safetensors_expect_rejected(one("F32", "[1]", "[0]", 4), "\"data_offsets\" must be [begin, end]");
    safetensors_expect_rejected(one("F32", "[1]", "[0,99999999999999999999999]", 4), "data_offsets[1] must be a non-negative");
    safetensors_expect_rejected(with_header("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "missing string \"dtype\"");
    safetensors_expect_rejected(with_header("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12),
                    "tensor 'b': data overlaps tensor 'a'");
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(Safetensors, MisalignedTensorDataIsCopiedToAlignedMemory) {
    // A 1-byte tensor first pushes the f32 tensor's data to an odd offset.
    testio::TempDir dir;
    const std::string path = dir.file("misaligned.safetensors");
    Tensor b = Tensor::zeros({1}, DType::u8);
    Tensor f = Tensor::from_floats({3}, std::vector<float>{1.5f, -2.0f, 3.25f});
    io::write_safetensors(path, {{"a_byte", b}, {"b_floats", f}});
    const io::SafetensorsModel m = io::read_safetensors(path);
    const Tensor& t = m.tensors[1].tensor;
    ASSERT_EQ(m.tensors[1].name, "b_floats");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data<float>()) % alignof(float), 0u);
    EXPECT_EQ(t.data<float>()[2], 3.25f);
}

}  // namespace
}  // namespace tern
