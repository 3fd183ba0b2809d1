// Hostile GGUF inputs: each must produce one InputError naming the file, never
// a crash, a hang or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/error.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "io/model_info.h"
#include "io_test_util.h"

namespace tern {
namespace {

// A hand-assembled GGUF so each test can corrupt exactly one field.
struct GgufBuilder {
    std::vector<uint8_t> b;
    template <class T>
    GgufBuilder& put(T v) {
        const size_t at = b.size();
        b.resize(at + sizeof v);
        std::memcpy(b.data() + at, &v, sizeof v);
        return *this;
    }
    GgufBuilder& str(const std::string& s) {
        put<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    GgufBuilder& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        b.insert(b.end(), {'G', 'G', 'U', 'F'});
        return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
    }
    GgufBuilder& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
        for (uint64_t d : ne) put<uint64_t>(d);
        return put<uint32_t>(type).put<uint64_t>(offset);
    }
    GgufBuilder& pad_to(size_t alignment) {
        b.resize((b.size() + alignment - 1) / alignment * alignment, 0);
        return *this;
    }
    GgufBuilder& zeros(size_t n) {
        b.resize(b.size() + n, 0);
        return *this;
    }
};

const std::string kGgufHostilePath = "/models/hostile.gguf";

// Parses and expects exactly an InputError whose message names the file and contains `needle`.
void gguf_hostile_expect_rejected(const std::vector<uint8_t>& bytes, const std::string& needle) {
    try {
        io::parse_gguf(bytes, kGgufHostilePath);
        ADD_FAILURE() << "accepted; expected an error containing '" << needle << "'";
    } catch (const InputError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind("[" + kGgufHostilePath + "]", 0), 0u) << msg;
        EXPECT_NE(msg.find(needle), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
}

std::vector<uint8_t> one_f32_tensor(uint64_t offset = 0, uint32_t type = 0) {
    GgufBuilder g;
    g.header(1, 1).str("general.name").put<uint32_t>(8).str("t");
    g.tensor("blk.3.ffn_up.weight", {8, 1}, type, offset).pad_to(32).zeros(32);
    return g.b;
}

TEST(GgufHostile, BuilderMakesAValidFile) {
    const auto f = io::parse_gguf(one_f32_tensor(), kGgufHostilePath);
    ASSERT_EQ(f.tensors.size(), 1u);
    EXPECT_EQ(f.tensors[0].shape, (Shape{1, 8}));
}

TEST(GgufHostile, TruncatedAtEveryByteThrows) {
    // Tensors end on the alignment, so every proper prefix is missing something.
    const auto full = io::gguf_to_bytes(
        {{"general.architecture", io::GgufValue::of_string("llama")},
         {"tokens", io::GgufValue::of_strings({"a", "bc", ""})},
         {"ids", io::GgufValue::of_array<int32_t>(io::GgufType::i32, {1, 2, 3})},
         {"nest", io::GgufValue::of_arrays({io::GgufValue::of_array<uint8_t>(io::GgufType::u8, {1})})},
         {"eps", io::GgufValue::of_f32(1e-5f)}},
        {{"a", Tensor::zeros({2, 32}, DType::q8_0)}, {"b", Tensor::zeros({8}, DType::f32)}});
    ASSERT_EQ(full.size() % 32, 0u);
    EXPECT_NO_THROW(io::parse_gguf(full, kGgufHostilePath));
    int rejected = 0;
    for (size_t n = 0; n < full.size(); ++n) {
        const std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
        try {
            io::parse_gguf(cut, kGgufHostilePath);
            ADD_FAILURE() << "prefix of " << n << " bytes accepted";
        } catch (const InputError& e) {
            ++rejected;
            EXPECT_NE(std::string(e.what()).find(kGgufHostilePath), std::string::npos);
        }
    }
    EXPECT_EQ(rejected, static_cast<int>(full.size()));
}

TEST(GgufHostile, TruncatedFileOnDiskNamesItThroughModelInfo) {
    testio::TempDir dir;
    const std::string path = dir.file("cut.gguf");
    auto bytes = one_f32_tensor();
    bytes.resize(bytes.size() - 5);
    testio::write_bytes(path, bytes);
    try {
        read_model_info(path);
        FAIL() << "accepted";
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(), ("[" + path + "] tensor 'blk.3.ffn_up.weight': data ends at byte " +
                                std::to_string(bytes.size() + 5) + " but file has " + std::to_string(bytes.size()))
                                   .c_str());
    }
    EXPECT_THROW(load_tensors(path), InputError);
}

TEST(GgufHostile, BadMagicAndVersions) {
    auto b = one_f32_tensor();
    b[0] = 'X';
    gguf_hostile_expect_rejected(b, "not a GGUF file");
    gguf_hostile_expect_rejected({'G', 'G'}, "not a GGUF file");
    b = one_f32_tensor();
    b[4] = 1;
    gguf_hostile_expect_rejected(b, "v1 is not supported");
    b = one_f32_tensor();
    b[4] = 0;
    b[7] = 3;  // version 3 written big-endian
    gguf_hostile_expect_rejected(b, "big-endian");
    b = one_f32_tensor();
    b[4] = 99;
    gguf_hostile_expect_rejected(b, "unsupported GGUF version 99");
}

TEST(GgufHostile, HugeCounts) {
    auto b = one_f32_tensor();
    const uint64_t huge = 0xffffffffffffffffull;
    std::memcpy(b.data() + 8, &huge, 8);
    gguf_hostile_expect_rejected(b, "tensor count");
    b = one_f32_tensor();
    std::memcpy(b.data() + 16, &huge, 8);
    gguf_hostile_expect_rejected(b, "metadata count");
    b = one_f32_tensor();
    const uint64_t key_len = 1ull << 62;
    std::memcpy(b.data() + 24, &key_len, 8);
    gguf_hostile_expect_rejected(b, "truncated: metadata key needs 4611686018427387904 bytes");
}

TEST(GgufHostile, HugeStringValueAndArrayCount) {
    GgufBuilder g;
    g.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(1ull << 60).zeros(64);
    gguf_hostile_expect_rejected(g.b, "metadata key 'k': truncated: string value");
    GgufBuilder a;
    a.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(6).put<uint64_t>(1ull << 61).zeros(64);
    gguf_hostile_expect_rejected(a.b, "metadata key 'arr': array of 2305843009213693952 f32 values");
    GgufBuilder s;
    s.header(0, 1).str("arr").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1000000).zeros(64);
    gguf_hostile_expect_rejected(s.b, "array of 1000000 string values");
}

TEST(GgufHostile, DeeplyNestedArrays) {
    GgufBuilder g;
    g.header(0, 1).str("deep").put<uint32_t>(9);
    for (int k = 0; k < 1000; ++k) g.put<uint32_t>(9).put<uint64_t>(1);
    g.put<uint32_t>(0).put<uint64_t>(0);
    gguf_hostile_expect_rejected(g.b, "nested deeper");
}

TEST(GgufHostile, UnknownValueTypeAndDuplicateKey) {
    GgufBuilder g;
    g.header(0, 1).str("k").put<uint32_t>(13).zeros(16);
    gguf_hostile_expect_rejected(g.b, "metadata key 'k': unknown value type 13");
    GgufBuilder d;
    d.header(0, 2).str("k").put<uint32_t>(0).put<uint8_t>(1).str("k").put<uint32_t>(0).put<uint8_t>(2);
    gguf_hostile_expect_rejected(d.b, "metadata key 'k': duplicate key");
}

TEST(GgufHostile, BadAlignment) {
    GgufBuilder g;
    g.header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(48);
    gguf_hostile_expect_rejected(g.b, "not a power of two");
    GgufBuilder z;
    z.header(0, 1).str("general.alignment").put<uint32_t>(4).put<uint32_t>(0);
    gguf_hostile_expect_rejected(z.b, "not a power of two");
    GgufBuilder t;
    t.header(0, 1).str("general.alignment").put<uint32_t>(8).str("32");
    gguf_hostile_expect_rejected(t.b, "must be a u32");
}

TEST(GgufHostile, BadTensorInfos) {
    auto with = [](const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        GgufBuilder g;
        g.header(1, 0).tensor(name, std::move(ne), type, offset).pad_to(32).zeros(64);
        return g.b;
    };
    gguf_hostile_expect_rejected(with("w", {8, 1, 1, 1, 1}, 0, 0), "tensor 'w': n_dims 5 is outside 1..4");
    gguf_hostile_expect_rejected(with("w", {}, 0, 0), "tensor 'w': n_dims 0");
    GgufBuilder huge_dims;
    huge_dims.header(1, 0).str("w").put<uint32_t>(0xffffffffu).zeros(64);
    gguf_hostile_expect_rejected(huge_dims.b, "tensor 'w': n_dims 4294967295");
    gguf_hostile_expect_rejected(with("w", {1ull << 32, 1ull << 32}, 0, 0), "tensor 'w': element count overflows");
    gguf_hostile_expect_rejected(with("w", {1ull << 63, 1}, 0, 0), "beyond int64");
    // Found by fuzz_gguf: a zero dim hid the overflow of the others.
    gguf_hostile_expect_rejected(with("w", {0, 1ull << 62, 1ull << 62}, 0, 0), "tensor 'w': element count overflows");
    gguf_hostile_expect_rejected(with("w", {1ull << 40, 1ull << 22}, 0, 0), "tensor 'w': byte size overflows");
    gguf_hostile_expect_rejected(with("blk.0.x", {8}, 99, 0), "tensor 'blk.0.x': unknown or unsupported ggml type id 99");
    gguf_hostile_expect_rejected(with("w", {33}, 8, 0), "tensor 'w': row length 33 is not a multiple of the q8_0 block size 32");
    gguf_hostile_expect_rejected(with("w", {8}, 0, 4), "tensor 'w': offset 4 is not a multiple of the alignment 32");
    gguf_hostile_expect_rejected(with("w", {8}, 0, 1ull << 40), "tensor 'w': data ends at byte");
    gguf_hostile_expect_rejected(with("w", {8}, 0, 0xffffffffffffffe0ull), "tensor 'w': data range overflows");
    gguf_hostile_expect_rejected(with("w", {1024}, 0, 0), "data ends at byte 4160 but file has 128");
}

TEST(GgufHostile, DuplicateAndOverlappingTensors) {
    GgufBuilder d;
    d.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad_to(32).zeros(64);
    gguf_hostile_expect_rejected(d.b, "duplicate tensor name 'w'");
    GgufBuilder o;
    o.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {8}, 0, 32).pad_to(32).zeros(64);
    gguf_hostile_expect_rejected(o.b, "tensor 'b': data overlaps tensor 'a'");
}

TEST(GgufHostile, InvalidUtf8StillGivesValidJson) {
    // Found by fuzz_gguf: a key with a stray 0xA9 byte made `tern info --json` throw.
    GgufBuilder g;
    g.header(1, 1).str("general.n\xa9me").put<uint32_t>(8).str("v\xff\xfe").tensor("t\xc3", {8}, 0, 0).pad_to(32).zeros(32);
    const ModelFileInfo info = model_info_from_bytes(g.b, kGgufHostilePath);
    std::string text;
    ASSERT_NO_THROW(text = model_info_json(info).dump());
    EXPECT_NE(text.find("general.n\xef\xbf\xbdme"), std::string::npos) << text;
}

TEST(GgufHostile, ModelInfoFromBytesRejectsGarbage) {
    const std::vector<uint8_t> junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    EXPECT_THROW(model_info_from_bytes(junk, "junk.bin"), InputError);
    EXPECT_THROW(model_info_from_bytes({}, "empty.bin"), InputError);
}

}  // namespace
}  // namespace tern
