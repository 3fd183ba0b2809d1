// The one name map: GGUF (llama.cpp) and Hugging Face names of Llama, Qwen2
// and GPT-2 tensors -> role, layer and llama.cpp name.
#include <gtest/gtest.h>

#include "io/tensor_names.h"

namespace tern::io {
namespace {

struct Row {
    const char* name;
    TensorRole role;
    int32_t layer;
    const char* gguf;  // llama.cpp name ("" when unmapped)
    bool transpose = false;
};

void expect_row(const std::optional<TensorName>& got, const Row& r) {
    if (std::string(r.gguf).empty()) {
        EXPECT_FALSE(got.has_value()) << r.name;
        EXPECT_EQ(tensor_role_of(r.name).role, TensorRole::other) << r.name;
        return;
    }
    ASSERT_TRUE(got.has_value()) << r.name;
    EXPECT_EQ(got->role.role, r.role) << r.name << " -> " << tensor_role_name(got->role.role);
    EXPECT_EQ(got->role.layer, r.layer) << r.name;
    EXPECT_EQ(got->gguf_name, r.gguf) << r.name;
    EXPECT_EQ(got->transpose, r.transpose) << r.name;
    const RoleOf any = tensor_role_of(r.name);
    EXPECT_EQ(any.role, r.role) << r.name;
    EXPECT_EQ(any.layer, r.layer) << r.name;
}

TEST(TensorRoles, GgufNames) {
    const Row rows[] = {
        {"token_embd.weight", TensorRole::token_embd, -1, "token_embd.weight"},
        {"position_embd.weight", TensorRole::position_embd, -1, "position_embd.weight"},
        {"output_norm.weight", TensorRole::output_norm, -1, "output_norm.weight"},
        {"output_norm.bias", TensorRole::output_norm, -1, "output_norm.bias"},
        {"output.weight", TensorRole::output, -1, "output.weight"},
        {"rope_freqs.weight", TensorRole::rope_freqs, -1, "rope_freqs.weight"},
        {"blk.0.attn_norm.weight", TensorRole::attn_norm, 0, "blk.0.attn_norm.weight"},
        {"blk.3.attn_q.weight", TensorRole::attn_q, 3, "blk.3.attn_q.weight"},
        {"blk.3.attn_q.bias", TensorRole::attn_q, 3, "blk.3.attn_q.bias"},
        {"blk.12.attn_k.weight", TensorRole::attn_k, 12, "blk.12.attn_k.weight"},
        {"blk.7.attn_v.weight", TensorRole::attn_v, 7, "blk.7.attn_v.weight"},
        {"blk.1.attn_qkv.weight", TensorRole::attn_qkv, 1, "blk.1.attn_qkv.weight"},
        {"blk.1.attn_output.weight", TensorRole::attn_output, 1, "blk.1.attn_output.weight"},
        {"blk.2.ffn_norm.weight", TensorRole::ffn_norm, 2, "blk.2.ffn_norm.weight"},
        {"blk.2.ffn_gate.weight", TensorRole::ffn_gate, 2, "blk.2.ffn_gate.weight"},
        {"blk.2.ffn_up.weight", TensorRole::ffn_up, 2, "blk.2.ffn_up.weight"},
        {"blk.31.ffn_down.weight", TensorRole::ffn_down, 31, "blk.31.ffn_down.weight"},
        // not llama.cpp names of these models
        {"blk.x.attn_q.weight", TensorRole::other, -1, ""},
        {"blk.3.attn_q", TensorRole::other, -1, ""},
        {"blk.3.ffn_down_exps.weight", TensorRole::other, -1, ""},
        {"blk..attn_q.weight", TensorRole::other, -1, ""},
        {"fc1.weight", TensorRole::other, -1, ""},
    };
    for (const Row& r : rows) expect_row(tensor_name_from_gguf(r.name), r);
}

TEST(TensorRoles, HuggingFaceLlamaAndQwen2Names) {
    const Row rows[] = {
        {"model.embed_tokens.weight", TensorRole::token_embd, -1, "token_embd.weight"},
        {"model.norm.weight", TensorRole::output_norm, -1, "output_norm.weight"},
        {"lm_head.weight", TensorRole::output, -1, "output.weight"},
        {"model.layers.0.input_layernorm.weight", TensorRole::attn_norm, 0, "blk.0.attn_norm.weight"},
        {"model.layers.5.self_attn.q_proj.weight", TensorRole::attn_q, 5, "blk.5.attn_q.weight"},
        {"model.layers.5.self_attn.q_proj.bias", TensorRole::attn_q, 5, "blk.5.attn_q.bias"},
        {"model.layers.5.self_attn.k_proj.weight", TensorRole::attn_k, 5, "blk.5.attn_k.weight"},
        {"model.layers.5.self_attn.v_proj.bias", TensorRole::attn_v, 5, "blk.5.attn_v.bias"},
        {"model.layers.27.self_attn.o_proj.weight", TensorRole::attn_output, 27, "blk.27.attn_output.weight"},
        {"model.layers.1.post_attention_layernorm.weight", TensorRole::ffn_norm, 1, "blk.1.ffn_norm.weight"},
        {"model.layers.1.mlp.gate_proj.weight", TensorRole::ffn_gate, 1, "blk.1.ffn_gate.weight"},
        {"model.layers.1.mlp.up_proj.weight", TensorRole::ffn_up, 1, "blk.1.ffn_up.weight"},
        {"model.layers.10.mlp.down_proj.weight", TensorRole::ffn_down, 10, "blk.10.ffn_down.weight"},
        {"model.layers.0.self_attn.rotary_emb.inv_freq", TensorRole::other, -1, ""},
        {"model.layers.0.mlp.experts.0.down_proj.weight", TensorRole::other, -1, ""},
    };
    for (const Row& r : rows) expect_row(tensor_name_from_hf(r.name), r);
    EXPECT_TRUE(is_hf_buffer("model.layers.0.self_attn.rotary_emb.inv_freq"));
}

TEST(TensorRoles, HuggingFaceGpt2Names) {
    const Row rows[] = {
        {"transformer.wte.weight", TensorRole::token_embd, -1, "token_embd.weight"},
        {"wte.weight", TensorRole::token_embd, -1, "token_embd.weight"},
        {"transformer.wpe.weight", TensorRole::position_embd, -1, "position_embd.weight"},
        {"transformer.ln_f.bias", TensorRole::output_norm, -1, "output_norm.bias"},
        {"transformer.h.0.ln_1.weight", TensorRole::attn_norm, 0, "blk.0.attn_norm.weight"},
        {"transformer.h.0.ln_1.bias", TensorRole::attn_norm, 0, "blk.0.attn_norm.bias"},
        {"transformer.h.4.attn.c_attn.weight", TensorRole::attn_qkv, 4, "blk.4.attn_qkv.weight", true},
        {"transformer.h.4.attn.c_attn.bias", TensorRole::attn_qkv, 4, "blk.4.attn_qkv.bias", false},
        {"h.4.attn.c_proj.weight", TensorRole::attn_output, 4, "blk.4.attn_output.weight", true},
        {"transformer.h.11.ln_2.weight", TensorRole::ffn_norm, 11, "blk.11.ffn_norm.weight"},
        {"transformer.h.11.mlp.c_fc.weight", TensorRole::ffn_up, 11, "blk.11.ffn_up.weight", true},
        {"transformer.h.11.mlp.c_proj.weight", TensorRole::ffn_down, 11, "blk.11.ffn_down.weight", true},
        {"transformer.h.11.mlp.c_proj.bias", TensorRole::ffn_down, 11, "blk.11.ffn_down.bias"},
        {"transformer.h.0.attn.bias", TensorRole::other, -1, ""},  // causal-mask buffer
        {"transformer.h.0.attn.masked_bias", TensorRole::other, -1, ""},
    };
    for (const Row& r : rows) expect_row(tensor_name_from_hf(r.name), r);
    EXPECT_TRUE(is_hf_buffer("transformer.h.0.attn.bias"));
    EXPECT_TRUE(is_hf_buffer("transformer.h.0.attn.masked_bias"));
    EXPECT_FALSE(is_hf_buffer("transformer.h.0.attn.c_attn.bias"));
}

TEST(TensorRoles, GgufNameAndHfNameOfOneTensorShareTheRole) {
    // The same tensor under both namings: one role, so presets treat them alike.
    const std::pair<const char*, const char*> twins[] = {
        {"blk.2.attn_v.weight", "model.layers.2.self_attn.v_proj.weight"},
        {"blk.2.ffn_down.weight", "model.layers.2.mlp.down_proj.weight"},
        {"blk.2.ffn_down.weight", "transformer.h.2.mlp.c_proj.weight"},
        {"output.weight", "lm_head.weight"},
        {"token_embd.weight", "model.embed_tokens.weight"},
    };
    for (const auto& [g, h] : twins) {
        EXPECT_EQ(tensor_role_of(g).role, tensor_role_of(h).role) << g << " / " << h;
        EXPECT_EQ(tensor_role_of(g).layer, tensor_role_of(h).layer) << g << " / " << h;
        EXPECT_EQ(tensor_name_from_hf(h)->gguf_name, g);
    }
}

}  // namespace
}  // namespace tern::io
