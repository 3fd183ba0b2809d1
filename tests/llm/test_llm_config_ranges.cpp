// GGUF sizes may be stored as f32/f64 or u64: a value past int64 (or NaN) must
// be an InputError naming the key, not an undefined float-to-int cast (found by
// fuzz/fuzz_llm_gguf under UBSan).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "io/gguf_types.h"
#include "llm/model_config.h"

namespace tern::llm {
namespace {

io::GgufMetadata llama_md(const std::string& key, io::GgufValue v) {
    io::GgufMetadata md = {{"general.architecture", io::GgufValue::of_string("llama")},
                           {"llama.embedding_length", io::GgufValue::of_u32(64)},
                           {"llama.block_count", io::GgufValue::of_u32(1)},
                           {"llama.feed_forward_length", io::GgufValue::of_u32(128)},
                           {"llama.attention.head_count", io::GgufValue::of_u32(4)},
                           {"llama.attention.layer_norm_rms_epsilon", io::GgufValue::of_f32(1e-5f)}};
    for (auto& [k, val] : md)
        if (k == key) {
            val = std::move(v);
            return md;
        }
    md.emplace_back(key, std::move(v));
    return md;
}

void expect_out_of_range(const std::string& key, io::GgufValue v) {
    try {
        config_from_gguf(llama_md(key, std::move(v)), "x.gguf");
        ADD_FAILURE() << key << " accepted";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[x.gguf] metadata key '" + key + "' is out of range"), std::string::npos)
            << e.what();
    }
}

TEST(LlmConfigRanges, HugeOrNanSizesAreInputErrorsNamingTheKey) {
    expect_out_of_range("llama.embedding_length", io::GgufValue::of_f64(1e30));
    expect_out_of_range("llama.block_count", io::GgufValue::of_f32(std::numeric_limits<float>::quiet_NaN()));
    expect_out_of_range("llama.feed_forward_length", io::GgufValue::of_u64(~uint64_t{0}));
    expect_out_of_range("llama.context_length", io::GgufValue::of_f64(-1e300));
    expect_out_of_range("llama.attention.key_length", io::GgufValue::of_f64(INFINITY));
    expect_out_of_range("llama.rope.dimension_count", io::GgufValue::of_f64(1e19));
}

TEST(LlmConfigRanges, TokenIdsOutsideInt32AreUnknown) {
    auto md = llama_md("tokenizer.ggml.bos_token_id", io::GgufValue::of_f64(3e9));
    md.emplace_back("tokenizer.ggml.eos_token_id", io::GgufValue::of_u32(2));
    const ModelConfig c = config_from_gguf(md, "x.gguf");
    EXPECT_EQ(c.bos_token, -1);
    EXPECT_EQ(c.eos_token, 2);
    EXPECT_EQ(c.n_embd, 64);
    EXPECT_EQ(c.head_dim, 16);
}

}  // namespace
}  // namespace tern::llm
