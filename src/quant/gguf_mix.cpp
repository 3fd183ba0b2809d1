#include "quant/gguf_mix.h"

#include <algorithm>

#include "io/tensor_names.h"

namespace tern {
namespace {

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

}  // namespace

const std::vector<GgufMix>& gguf_mixes() {
    static const std::vector<GgufMix> mixes = {
        {"q3_k_m", DType::q3_k, 12},
        {"q4_k_m", DType::q4_k, 15},
        {"q5_k_m", DType::q5_k, 17},
    };
    return mixes;
}

std::optional<GgufMix> gguf_mix_by_name(const std::string& name) {
    for (const auto& m : gguf_mixes())
        if (m.name == name) return m;
    return std::nullopt;
}

GgufMixPlan::GgufMixPlan(const GgufMix& mix, const std::vector<NamedTensor>& tensors)
    : base_(format_for_dtype(mix.base)), more_bits_(format_for_dtype(DType::q6_k)) {
    for (const auto& t : tensors) {
        const io::RoleOf r = io::tensor_role_of(t.name);
        n_layers_ = std::max<int64_t>(n_layers_, r.layer + 1);
        has_output_ = has_output_ || r.role == io::TensorRole::output;
    }
}

// By role, so GGUF names and Hugging Face names of the same model get the same types.
const FormatDescriptor* GgufMixPlan::format_for(const NamedTensor& t) const {
    const io::RoleOf r = io::tensor_role_of(t.name);
    using io::TensorRole;
    if (r.role == TensorRole::output || (!has_output_ && r.role == TensorRole::token_embd)) return more_bits_;
    if (base_->dtype == DType::q3_k) {
        // Q3_K_M: attn_v of the first two layers Q5_K, the rest Q4_K; ffn_down Q5_K in the
        // first n/16 layers, Q4_K after; attn_output Q4_K (llama_tensor_get_type, no experts).
        static const FormatDescriptor* q4k = format_for_dtype(DType::q4_k);
        static const FormatDescriptor* q5k = format_for_dtype(DType::q5_k);
        if (r.layer >= 0 && r.role == TensorRole::attn_v) return r.layer < 2 ? q5k : q4k;
        if (r.layer >= 0 && r.role == TensorRole::ffn_down) return r.layer < n_layers_ / 16 ? q5k : q4k;
        if (r.layer >= 0 && r.role == TensorRole::attn_output) return q4k;
        return base_;
    }
    if (r.layer >= 0 && (r.role == TensorRole::attn_v || r.role == TensorRole::ffn_down) &&
        use_more_bits(r.layer, n_layers_))
        return more_bits_;
    return base_;
}

}  // namespace tern
