#pragma once
// llama.cpp's mixed quantization presets ("Q4_K_M", "Q5_K_M", ...): most
// matrices in the base K-quant, the ones quality is most sensitive to in
// more bits. The rules follow llama.cpp's llama_tensor_get_type for the
// llama family:
//   - the output projection (or token_embd when the embedding is tied) -> Q6_K
//   - attn_v and ffn_down of the "more bits" layers -> Q6_K, where a layer i of
//     n is one when i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2
//   - everything else -> the base type (Q4_K for Q4_K_M, Q5_K for Q5_K_M)
// Q3_K_M: output (or tied token_embd) Q6_K, attn_v Q5_K in layers 0-1 and Q4_K
// after, ffn_down Q5_K in the first n/16 layers and Q4_K after, attn_output Q4_K,
// the rest Q3_K.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/format.h"
#include "io/named_tensor.h"

namespace tern {

struct GgufMix {
    std::string name;        // "q4_k_m"
    DType base;              // q4_k
    uint32_t llama_file_type;  // general.file_type llama.cpp writes for it
};

// Known presets, or nullopt for any other name (then the name is a plain format).
std::optional<GgufMix> gguf_mix_by_name(const std::string& name);
const std::vector<GgufMix>& gguf_mixes();

// The format each tensor of `tensors` gets under `mix`, chosen by the tensor's
// role (io/tensor_names.h), so GGUF and Hugging Face names are treated alike
// (tensors of rank < 2 the caller keeps as they are).
class GgufMixPlan {
public:
    GgufMixPlan(const GgufMix& mix, const std::vector<NamedTensor>& tensors);
    const FormatDescriptor* format_for(const NamedTensor& t) const;

private:
    const FormatDescriptor* base_;
    const FormatDescriptor* more_bits_;
    int64_t n_layers_ = 0;
    bool has_output_ = false;
};

}  // namespace tern
