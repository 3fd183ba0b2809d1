#include "nn/train/lm_export.h"

#include "core/error.h"
#include "formats/format.h"
#include "io/gguf_writer.h"
#include "formats/tensor_codec.h"

namespace tern::nn::train {
namespace {

io::GgufMetadata lm_metadata(const models::LlamaLmConfig& c, const BpeVocabulary& vocab, int32_t bos) {
    const std::string a = "llama.";
    auto u32 = [](int64_t v) { return io::GgufValue::of_u32(static_cast<uint32_t>(v)); };
    io::GgufMetadata md = {
        {"general.architecture", io::GgufValue::of_string("llama")},
        {"general.name", io::GgufValue::of_string("tern tinylm")},
        {a + "vocab_size", u32(c.vocab)},
        {a + "context_length", u32(c.context)},
        {a + "embedding_length", u32(c.dim)},
        {a + "block_count", u32(c.layers)},
        {a + "feed_forward_length", u32(c.ffn)},
        {a + "attention.head_count", u32(c.heads)},
        {a + "attention.head_count_kv", u32(c.kv_heads)},
        {a + "attention.layer_norm_rms_epsilon", io::GgufValue::of_f32(c.norm_eps)},
        {a + "rope.freq_base", io::GgufValue::of_f32(c.rope_theta)},
        {a + "rope.dimension_count", u32(c.head_dim())},
    };
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    tokens.reserve(vocab.tokens.size());
    const size_t first_special = vocab.tokens.size() - vocab.special_tokens.size();
    for (size_t i = 0; i < vocab.tokens.size(); ++i) {
        const bool special = i >= first_special;
        tokens.push_back(special ? vocab.tokens[i] : gpt2_byte_to_unicode(vocab.tokens[i]));
        types.push_back(special ? 3 : 1);  // control : normal
    }
    std::vector<std::string> merges;
    merges.reserve(vocab.merges.size());
    for (const auto& [l, r] : vocab.merges)
        merges.push_back(gpt2_byte_to_unicode(vocab.tokens[static_cast<size_t>(l)]) + " " +
                         gpt2_byte_to_unicode(vocab.tokens[static_cast<size_t>(r)]));
    md.emplace_back("tokenizer.ggml.model", io::GgufValue::of_string("gpt2"));
    md.emplace_back("tokenizer.ggml.pre", io::GgufValue::of_string("gpt-2"));
    md.emplace_back("tokenizer.ggml.tokens", io::GgufValue::of_strings(tokens));
    md.emplace_back("tokenizer.ggml.token_type", io::GgufValue::of_array(io::GgufType::i32, types));
    md.emplace_back("tokenizer.ggml.merges", io::GgufValue::of_strings(merges));
    md.emplace_back("tokenizer.ggml.bos_token_id", u32(bos));
    md.emplace_back("tokenizer.ggml.eos_token_id", u32(bos));
    md.emplace_back("tokenizer.ggml.add_bos_token", io::GgufValue::of_bool(true));
    return md;
}

}  // namespace

void export_lm_gguf(const std::string& path, const models::LlamaLM& model, const BpeVocabulary& vocab, int32_t bos,
                    DType weights, const std::map<std::string, std::string>& extra_metadata) {
    const models::LlamaLmConfig& c = model.config();
    if (vocab.size() != c.vocab)
        throw Error("export_lm_gguf", "vocabulary has " + std::to_string(vocab.size()) + " tokens, the model " +
                                          std::to_string(c.vocab));
    const FormatDescriptor* fmt = format_for_dtype(weights);
    if (!fmt) throw UsageError("gguf_type", "no storage format for dtype " + std::string(dtype_name(weights)));
    std::vector<NamedTensor> tensors;
    auto matrix = [&](const std::string& name, const Var& v) {
        Tensor t = v.value();
        if (weights != DType::f32) t = quantize_tensor_rtn(t, *fmt, name);
        tensors.push_back({name, t});
    };
    auto vector = [&](const std::string& name, const Var& v) { tensors.push_back({name, v.value()}); };
    matrix("token_embd.weight", model.tok_embeddings->weight);
    for (size_t l = 0; l < model.blocks.size(); ++l) {
        const models::LlamaBlock& b = *model.blocks[l];
        const std::string p = "blk." + std::to_string(l) + ".";
        vector(p + "attn_norm.weight", b.attn_norm->weight);
        matrix(p + "attn_q.weight", b.attn->wq->weight);
        matrix(p + "attn_k.weight", b.attn->wk->weight);
        matrix(p + "attn_v.weight", b.attn->wv->weight);
        matrix(p + "attn_output.weight", b.attn->wo->weight);
        vector(p + "ffn_norm.weight", b.ffn_norm->weight);
        matrix(p + "ffn_gate.weight", b.mlp->gate->weight);
        matrix(p + "ffn_up.weight", b.mlp->up->weight);
        matrix(p + "ffn_down.weight", b.mlp->down->weight);
    }
    vector("output_norm.weight", model.norm->weight);
    if (model.output) matrix("output.weight", model.output->weight);
    io::GgufMetadata md = lm_metadata(c, vocab, bos);
    for (const auto& [k, v] : extra_metadata) md.emplace_back(k, io::GgufValue::of_string(v));
    io::write_gguf(path, md, tensors);
}

}  // namespace tern::nn::train
