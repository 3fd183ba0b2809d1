// The Q3_K_M preset's per-tensor types: llama.cpp's llama_tensor_get_type for
// a llama-family model without experts (checked against llama-quantize's
// choices on tinylm: see the imatrix report).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/tensor.h"
#include "quant/gguf_mix.h"

namespace tern {
namespace {

std::string type_of(const GgufMixPlan& plan, const std::string& name) {
    const FormatDescriptor* f = plan.format_for({name, Tensor::zeros({256, 256}, DType::f32)});
    return f ? std::string(f->name) : "base";
}

TEST(GgufMixQ3KM, FollowsLlamaCppTypesPerRoleAndLayer) {
    const std::optional<GgufMix> mix = gguf_mix_by_name("q3_k_m");
    ASSERT_TRUE(mix);
    EXPECT_EQ(mix->llama_file_type, 12u);  // LLAMA_FTYPE_MOSTLY_Q3_K_M
    for (int32_t n_layers : {4, 32}) {
        SCOPED_TRACE(n_layers);
        std::vector<NamedTensor> tensors = {{"token_embd.weight", Tensor::zeros({4, 256}, DType::f32)}};
        for (int32_t l = 0; l < n_layers; ++l)
            tensors.push_back({"blk." + std::to_string(l) + ".attn_q.weight", Tensor::zeros({1, 256}, DType::f32)});
        const GgufMixPlan plan(*mix, tensors);
        EXPECT_EQ(type_of(plan, "token_embd.weight"), "q6_k");  // tied: the head's type
        for (int32_t l = 0; l < n_layers; ++l) {
            const std::string b = "blk." + std::to_string(l) + ".";
            EXPECT_EQ(type_of(plan, b + "attn_q.weight"), "q3_k");
            EXPECT_EQ(type_of(plan, b + "attn_k.weight"), "q3_k");
            EXPECT_EQ(type_of(plan, b + "attn_v.weight"), l < 2 ? "q5_k" : "q4_k");
            EXPECT_EQ(type_of(plan, b + "attn_output.weight"), "q4_k");
            EXPECT_EQ(type_of(plan, b + "ffn_gate.weight"), "q3_k");
            EXPECT_EQ(type_of(plan, b + "ffn_up.weight"), "q3_k");
            EXPECT_EQ(type_of(plan, b + "ffn_down.weight"), l < n_layers / 16 ? "q5_k" : "q4_k");
        }
    }
}

}  // namespace
}  // namespace tern
