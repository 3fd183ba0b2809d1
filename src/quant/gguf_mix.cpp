#include "quant/gguf_mix.h"

#include <cstdlib>

namespace tern {
namespace {

// "blk.<i>.<rest>" -> i, or -1.
int64_t layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    char* end = nullptr;
    const long long i = std::strtoll(name.c_str() + 4, &end, 10);
    return end && *end == '.' ? i : -1;
}

bool ends_with(const std::string& s, const char* suffix) { return s.ends_with(suffix); }

bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

}  // namespace

const std::vector<GgufMix>& gguf_mixes() {
    static const std::vector<GgufMix> mixes = {
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
        n_layers_ = std::max(n_layers_, layer_of(t.name) + 1);
        has_output_ = has_output_ || t.name == "output.weight";
    }
}

const FormatDescriptor* GgufMixPlan::format_for(const NamedTensor& t) const {
    const std::string& n = t.name;
    if (n == "output.weight" || (!has_output_ && n == "token_embd.weight")) return more_bits_;
    const int64_t layer = layer_of(n);
    if (layer >= 0 && (ends_with(n, ".attn_v.weight") || ends_with(n, ".ffn_down.weight")) &&
        use_more_bits(layer, n_layers_))
        return more_bits_;
    return base_;
}

}  // namespace tern
