#pragma once
// The one name map between checkpoint tensor names and roles: llama.cpp's GGUF
// names ("blk.3.attn_q.weight") and Hugging Face names for Llama / Mistral /
// Qwen2 ("model.layers.3.self_attn.q_proj.weight") and GPT-2
// ("transformer.h.3.attn.c_attn.weight"). The runtime loader, the HF -> GGUF
// converter and the quantization presets all go through it.
#include <optional>
#include <string>

#include "io/tensor_role.h"

namespace tern::io {

struct TensorName {
    RoleOf role;            // what the tensor is for, and its layer
    std::string gguf_name;  // llama.cpp's name for it ("blk.3.attn_q.weight")
    bool is_bias = false;   // ".bias" (else ".weight")
    bool transpose = false; // HF GPT-2 Conv1D weights are stored (in, out); GGUF wants (out, in)
};

// A llama.cpp GGUF name; nullopt for a name outside llama.cpp's llama/qwen2/gpt2 tensors.
std::optional<TensorName> tensor_name_from_gguf(const std::string& name);
// A Hugging Face name (Llama/Mistral/Qwen2 or GPT-2, with or without "transformer.");
// nullopt for names that are not weights of those models (buffers such as
// attn.masked_bias or rotary_emb.inv_freq, or anything unknown).
std::optional<TensorName> tensor_name_from_hf(const std::string& name);
// HF buffers that carry no weights and are dropped on conversion.
bool is_hf_buffer(const std::string& name);

// The role of a tensor under either naming; {other, -1} when neither knows it.
RoleOf tensor_role_of(const std::string& name);

}  // namespace tern::io
