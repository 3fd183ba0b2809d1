// The teacher top-k logits file (src/distill/topk_logits.h): a round trip, the
// loss it feeds, and hostile files (generated here), each one InputError
// naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"
#include "distill/losses.h"
#include "distill/topk_logits.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "nn/nn_test_util.h"

namespace tern::distill {
namespace {

TEST(DistillTopk, RoundTripAndLoss) {
    testio::TempDir dir;
    nn::Rng rng(3);
    const Tensor logits = nn::test::random_tensor({6, 20}, rng, 2);
    const TopkLogits t = topk_of_logits(logits.data<float>(), 6, 20, 4);
    for (int64_t r = 0; r < 6; ++r)
        for (int64_t j = 1; j < 4; ++j) EXPECT_GE(t.values[r * 4 + j - 1], t.values[r * 4 + j]);
    const std::string path = dir.file("topk.safetensors");
    write_topk_logits(path, t);
    const TopkLogits back = read_topk_logits(path);
    EXPECT_EQ(back.positions, 6);
    EXPECT_EQ(back.k, 4);
    EXPECT_EQ(back.vocab_size, 20);
    EXPECT_EQ(back.indices, t.indices);
    EXPECT_EQ(back.values, t.values);
    // A student equal to the teacher is closer than a random one.
    const nn::Var same(logits), other(nn::test::random_tensor({6, 20}, rng, 2));
    EXPECT_LT(topk_forward_kl(same, back.indices, back.values, back.k).item(),
              topk_forward_kl(other, back.indices, back.values, back.k).item());
}

TEST(DistillTopk, HostileFilesAreOneClearError) {
    testio::TempDir dir;
    auto i32 = [](const Shape& s, int32_t v) {
        Tensor t = Tensor::empty(s, DType::i32);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<int32_t>()[i] = v;
        return t;
    };
    auto f32 = [](const Shape& s, float v) {
        Tensor t = Tensor::empty(s);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
        return t;
    };
    const std::map<std::string, std::string> meta{{"tern.format", "teacher-topk-v1"}, {"tern.vocab_size", "10"}};
    const struct {
        const char* name;
        std::vector<NamedTensor> tensors;
        std::map<std::string, std::string> meta;
        std::string error;
    } cases[] = {
        {"no format", {{"indices", i32({2, 3}, 1)}, {"values", f32({2, 3}, 0)}}, {}, "not a teacher top-k logits file"},
        {"no vocab", {{"indices", i32({2, 3}, 1)}, {"values", f32({2, 3}, 0)}}, {{"tern.format", "teacher-topk-v1"}},
         "no tern.vocab_size in __metadata__"},
        {"bad vocab", {{"indices", i32({2, 3}, 1)}, {"values", f32({2, 3}, 0)}},
         {{"tern.format", "teacher-topk-v1"}, {"tern.vocab_size", "-3"}}, "bad tern.vocab_size metadata '-3'"},
        {"no values", {{"indices", i32({2, 3}, 1)}}, meta, "no 'values' tensor"},
        {"float ids", {{"indices", f32({2, 3}, 1)}, {"values", f32({2, 3}, 0)}}, meta, "'indices' must be I32"},
        {"shapes differ", {{"indices", i32({2, 3}, 1)}, {"values", f32({2, 4}, 0)}}, meta, "must both be (positions, k)"},
        {"k over vocab", {{"indices", i32({1, 11}, 1)}, {"values", f32({1, 11}, 0)}}, meta,
         "k 11 exceeds the vocabulary of 10"},
        {"id out of range", {{"indices", i32({2, 3}, 10)}, {"values", f32({2, 3}, 0)}}, meta,
         "token id 10 at position 0 is outside the vocabulary of 10"},
        {"nan logit", {{"indices", i32({2, 3}, 1)}, {"values", f32({2, 3}, NAN)}}, meta, "logit at position 0 is NaN"},
    };
    for (const auto& c : cases) {
        const std::string path = dir.file("bad.safetensors");
        io::write_safetensors(path, c.tensors, c.meta);
        try {
            read_topk_logits(path);
            ADD_FAILURE() << c.name << " read";
        } catch (const InputError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find(path), std::string::npos) << m;
            EXPECT_NE(m.find(c.error), std::string::npos) << c.name << ": " << m;
        }
    }
    // Truncated: the safetensors reader's own error, naming the file.
    const std::string good = dir.file("good.safetensors"), cut = dir.file("cut.safetensors");
    write_topk_logits(good, topk_of_logits(f32({2, 10}, 1).data<float>(), 2, 10, 3));
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 5);
    try {
        read_topk_logits(cut);
        ADD_FAILURE() << "truncated file read";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace tern::distill
