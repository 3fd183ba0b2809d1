// Name tables: llama.cpp's GGUF spelling of each role, and the Hugging Face
// spellings that map onto it.
#include "io/tensor_names.h"

#include <array>
#include <cstdlib>
#include <string_view>

namespace tern::io {
namespace {

struct Spelling {
    std::string_view name;  // without ".weight" / ".bias"
    TensorRole role;
    bool conv1d = false;    // GPT-2 Conv1D: weight stored (in, out)
};

// Per-layer GGUF names are "blk.<i>.<spelling>"; global ones are the spelling itself.
constexpr std::array kGgufLayer = {
    Spelling{"attn_norm", TensorRole::attn_norm},     Spelling{"attn_q", TensorRole::attn_q},
    Spelling{"attn_k", TensorRole::attn_k},           Spelling{"attn_v", TensorRole::attn_v},
    Spelling{"attn_qkv", TensorRole::attn_qkv},       Spelling{"attn_output", TensorRole::attn_output},
    Spelling{"ffn_norm", TensorRole::ffn_norm},       Spelling{"ffn_gate", TensorRole::ffn_gate},
    Spelling{"ffn_up", TensorRole::ffn_up},           Spelling{"ffn_down", TensorRole::ffn_down},
};
constexpr std::array kGgufGlobal = {
    Spelling{"token_embd", TensorRole::token_embd}, Spelling{"position_embd", TensorRole::position_embd},
    Spelling{"output_norm", TensorRole::output_norm}, Spelling{"output", TensorRole::output},
    Spelling{"rope_freqs", TensorRole::rope_freqs},
};
// HF Llama / Mistral / Qwen2: "model.layers.<i>.<spelling>".
constexpr std::array kHfLlamaLayer = {
    Spelling{"input_layernorm", TensorRole::attn_norm},
    Spelling{"self_attn.q_proj", TensorRole::attn_q},
    Spelling{"self_attn.k_proj", TensorRole::attn_k},
    Spelling{"self_attn.v_proj", TensorRole::attn_v},
    Spelling{"self_attn.o_proj", TensorRole::attn_output},
    Spelling{"post_attention_layernorm", TensorRole::ffn_norm},
    Spelling{"mlp.gate_proj", TensorRole::ffn_gate},
    Spelling{"mlp.up_proj", TensorRole::ffn_up},
    Spelling{"mlp.down_proj", TensorRole::ffn_down},
};
constexpr std::array kHfLlamaGlobal = {
    Spelling{"model.embed_tokens", TensorRole::token_embd},
    Spelling{"model.norm", TensorRole::output_norm},
    Spelling{"lm_head", TensorRole::output},
};
// HF GPT-2 (after an optional "transformer."): "h.<i>.<spelling>".
constexpr std::array kHfGpt2Layer = {
    Spelling{"ln_1", TensorRole::attn_norm},
    Spelling{"attn.c_attn", TensorRole::attn_qkv, true},
    Spelling{"attn.c_proj", TensorRole::attn_output, true},
    Spelling{"ln_2", TensorRole::ffn_norm},
    Spelling{"mlp.c_fc", TensorRole::ffn_up, true},
    Spelling{"mlp.c_proj", TensorRole::ffn_down, true},
};
constexpr std::array kHfGpt2Global = {
    Spelling{"wte", TensorRole::token_embd},
    Spelling{"wpe", TensorRole::position_embd},
    Spelling{"ln_f", TensorRole::output_norm},
};

// "name.weight" -> ("name", false); "name.bias" -> ("name", true); else nullopt.
std::optional<std::pair<std::string_view, bool>> split_kind(std::string_view name) {
    if (name.ends_with(".weight")) return {{name.substr(0, name.size() - 7), false}};
    if (name.ends_with(".bias")) return {{name.substr(0, name.size() - 5), true}};
    return std::nullopt;
}

// "<prefix><i>.<rest>" -> (i, rest); nullopt unless i is a plain decimal number.
std::optional<std::pair<int32_t, std::string_view>> split_layer(std::string_view base, std::string_view prefix) {
    if (!base.starts_with(prefix)) return std::nullopt;
    base.remove_prefix(prefix.size());
    const size_t dot = base.find('.');
    if (dot == 0 || dot == std::string_view::npos || dot > 6) return std::nullopt;
    int32_t layer = 0;
    for (size_t i = 0; i < dot; ++i) {
        if (base[i] < '0' || base[i] > '9') return std::nullopt;
        layer = layer * 10 + (base[i] - '0');
    }
    return {{layer, base.substr(dot + 1)}};
}

template <size_t N>
const Spelling* find(const std::array<Spelling, N>& table, std::string_view name) {
    for (const Spelling& s : table)
        if (s.name == name) return &s;
    return nullptr;
}

TensorName make(const Spelling& s, int32_t layer, bool bias) {
    TensorName t;
    t.role = {s.role, layer};
    t.is_bias = bias;
    t.transpose = s.conv1d && !bias;
    t.gguf_name = (layer >= 0 ? "blk." + std::to_string(layer) + "." : std::string()) +
                  std::string(tensor_role_name(s.role)) + (bias ? ".bias" : ".weight");
    return t;
}

template <size_t L, size_t G>
std::optional<TensorName> lookup(std::string_view base, bool bias, std::string_view layer_prefix,
                                 const std::array<Spelling, L>& per_layer, const std::array<Spelling, G>& global) {
    if (const Spelling* s = find(global, base)) return make(*s, -1, bias);
    if (auto lr = split_layer(base, layer_prefix))
        if (const Spelling* s = find(per_layer, lr->second)) return make(*s, lr->first, bias);
    return std::nullopt;
}

}  // namespace

std::optional<TensorName> tensor_name_from_gguf(const std::string& name) {
    auto kind = split_kind(name);
    if (!kind) return std::nullopt;
    return lookup(kind->first, kind->second, "blk.", kGgufLayer, kGgufGlobal);
}

std::optional<TensorName> tensor_name_from_hf(const std::string& name) {
    auto kind = split_kind(name);
    if (!kind) return std::nullopt;
    std::string_view base = kind->first;
    if (auto t = lookup(base, kind->second, "model.layers.", kHfLlamaLayer, kHfLlamaGlobal)) return t;
    if (base.starts_with("transformer.")) base.remove_prefix(12);
    return lookup(base, kind->second, "h.", kHfGpt2Layer, kHfGpt2Global);
}

bool is_hf_buffer(const std::string& name) {
    // GPT-2's causal mask buffers and rotary caches some exports keep.
    return name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias") || name.ends_with("rotary_emb.inv_freq");
}

RoleOf tensor_role_of(const std::string& name) {
    if (auto t = tensor_name_from_gguf(name)) return t->role;
    if (auto t = tensor_name_from_hf(name)) return t->role;
    return {};
}

}  // namespace tern::io
