// ModelConfig from HF config.json and GGUF metadata; quantized GGUF weights
// (the interim dequantize-at-load path) still track the reference.
#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/format.h"
#include "io/gguf_reader.h"
#include "io/gguf_writer.h"
#include "llm/forward.h"
#include "llm/llm_test_util.h"
#include "quant/rtn.h"

namespace tern::llm::test {
namespace {

TEST(LlmConfig, HfLlama3AndDefaults) {
    const auto j = nlohmann::json::parse(R"({
      "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "num_hidden_layers": 16,
      "intermediate_size": 8192, "num_attention_heads": 32, "num_key_value_heads": 8,
      "vocab_size": 128256, "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 131072,
      "tie_word_embeddings": true, "bos_token_id": 128000, "eos_token_id": [128001, 128008],
      "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})");
    const ModelConfig c = config_from_hf_json(j, "config.json");
    EXPECT_EQ(c.arch, Arch::llama);
    EXPECT_EQ(c.head_dim, 64);
    EXPECT_EQ(c.n_head_kv, 8);
    EXPECT_EQ(c.rope_scaling, RopeScaling::llama3);
    EXPECT_FLOAT_EQ(c.rope_factor, 32.0f);
    EXPECT_EQ(c.rope_orig_ctx, 8192);
    EXPECT_TRUE(c.tied_embeddings);
    EXPECT_TRUE(c.rope_neox);
    EXPECT_EQ(c.eos_token, 128001);
    EXPECT_NO_THROW(validate_config(c, "config.json"));

    const auto g = nlohmann::json::parse(R"({"architectures": ["GPT2LMHeadModel"], "n_embd": 768, "n_layer": 12,
      "n_head": 12, "n_inner": null, "n_positions": 1024, "vocab_size": 50257})");
    const ModelConfig gc = config_from_hf_json(g, "config.json");
    EXPECT_EQ(gc.n_ff, 3072);
    EXPECT_EQ(gc.n_ctx_train, 1024);
    EXPECT_TRUE(gc.tied_embeddings);
}

TEST(LlmConfig, ErrorsNameTheFileAndTheProblem) {
    try {
        config_from_hf_json(nlohmann::json::parse(R"({"architectures": ["MambaForCausalLM"]})"), "m/config.json");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("[m/config.json] architecture 'MambaForCausalLM'"), std::string::npos) << e.what();
    }
    io::GgufMetadata md = {{"general.architecture", io::GgufValue::of_string("llama")},
                           {"llama.embedding_length", io::GgufValue::of_u32(64)}};
    try {
        config_from_gguf(md, "x.gguf");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("'llama.block_count' is missing"), std::string::npos) << e.what();
    }
    ModelConfig c;
    c.n_embd = 64, c.n_layer = 1, c.n_ff = 8, c.n_head = 4, c.n_head_kv = 3, c.head_dim = 16, c.n_vocab = 5;
    c.n_ctx_train = 8, c.rope_dim = 16;
    EXPECT_THROW(validate_config(c, "x"), InputError);  // 4 heads over 3 kv heads
}

// q8_0 GGUF weights: decoded once at load (interim path), so logits track the
// f32 reference to within q8_0's rounding.
TEST(LlmConfig, Q8_0GgufTracksTheReference) {
    const TinyModels& tm = tiny_models();
    TERN_REQUIRE_REFERENCE(tm.ref.reference);
    const TinyModel& m = tm.get("llama_gqa");
    io::GgufModel g = io::read_gguf(m.gguf_path);
    QuantizeOptions qo;
    qo.format = find_format("q8_0");
    ASSERT_NE(qo.format, nullptr);
    std::vector<QuantizeReportRow> report;
    const auto q = quantize_tensors_rtn(g.tensors, qo, report);
    const std::string path = tm.dir.file("llama_q8_0.gguf");
    io::write_gguf(path, g.info.metadata, q);
    const auto model = load_model(path);
    EXPECT_EQ(model->layers[0].wq->path(), ops::LinearPath::quantized_int8);  // VNNI quant_matmul, int8 activations
    Session s(*model, {});
    std::vector<float> logits;
    s.eval(m.tokens, logits, true);
    const Tensor* ref = tm.ref_tensor("llama_gqa", "logits");
    const double e = rel_err(logits.data(), ref->data<float>(), ref->numel());
    std::printf("[ llm ref  ] llama_gqa   gguf q8_0   prefill rel err %.2e (budget 3e-02)\n", e);
    EXPECT_LT(e, 3e-2);
    EXPECT_GT(e, 1e-6);  // it really was quantized
}

}  // namespace
}  // namespace tern::llm::test
