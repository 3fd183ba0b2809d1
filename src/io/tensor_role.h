#pragma once
// What a tensor of a transformer checkpoint is for, independent of how a file
// names it. Quantization presets, calibration observers and every compression
// method key on roles, never on name patterns, so a model under Hugging Face
// names and the same model under llama.cpp's GGUF names are treated alike.
#include <cstdint>

namespace tern::io {

enum class TensorRole : uint8_t {
    token_embd,   // (V, d) token embedding
    position_embd,  // (ctx, d) learned positions (GPT-2)
    attn_norm,    // per layer: norm before attention (weight or bias)
    attn_q,
    attn_k,
    attn_v,
    attn_qkv,     // fused q/k/v (GPT-2)
    attn_output,
    ffn_norm,     // per layer: norm before the MLP
    ffn_gate,
    ffn_up,
    ffn_down,
    output_norm,  // final norm
    output,       // (V, d) language-model head
    rope_freqs,   // Llama-3 rope frequency divisors
    other,        // anything a role-driven method must leave alone
};

// A tensor's role and, for per-layer tensors, its layer index (-1 otherwise).
struct RoleOf {
    TensorRole role = TensorRole::other;
    int32_t layer = -1;
};

// "attn_q", "ffn_down", ... (llama.cpp's GGUF spelling of the role).
inline const char* tensor_role_name(TensorRole r) {
    switch (r) {
        case TensorRole::token_embd: return "token_embd";
        case TensorRole::position_embd: return "position_embd";
        case TensorRole::attn_norm: return "attn_norm";
        case TensorRole::attn_q: return "attn_q";
        case TensorRole::attn_k: return "attn_k";
        case TensorRole::attn_v: return "attn_v";
        case TensorRole::attn_qkv: return "attn_qkv";
        case TensorRole::attn_output: return "attn_output";
        case TensorRole::ffn_norm: return "ffn_norm";
        case TensorRole::ffn_gate: return "ffn_gate";
        case TensorRole::ffn_up: return "ffn_up";
        case TensorRole::ffn_down: return "ffn_down";
        case TensorRole::output_norm: return "output_norm";
        case TensorRole::output: return "output";
        case TensorRole::rope_freqs: return "rope_freqs";
        case TensorRole::other: return "other";
    }
    return "other";
}

}  // namespace tern::io
