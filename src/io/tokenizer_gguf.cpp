// Builds a tokenizer from GGUF's tokenizer.ggml.* metadata, handed over as
// plain vectors so this file does not depend on the GGUF reader.
#include "core/error.h"
#include "io/tokenizer_internal.h"

namespace tern {
namespace {

// tokenizer.ggml.pre names (llama.cpp's) -> the split regex they stand for.
SplitPattern split_for_pre(const std::string& where, const std::string& pre) {
    if (pre.empty() || pre == "default" || pre == "gpt-2" || pre == "gpt2") return SplitPattern::gpt2;
    if (pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3" || pre == "smaug-bpe") return SplitPattern::llama3;
    if (pre == "qwen2") return SplitPattern::qwen2;
    throw InputError(where, "tokenizer.ggml.pre '" + pre + "' is not supported (default, gpt-2, llama-bpe, qwen2)");
}

}  // namespace

std::unique_ptr<Tokenizer> tokenizer_from_gguf_metadata(const GgufTokenizerMetadata& meta) {
    const std::string& where = meta.where;
    if (meta.tokens.empty()) throw InputError(where, "tokenizer.ggml.tokens is missing or empty");
    if (meta.model == "llama") {
        SentencePieceOptions opt;
        opt.where = where;
        opt.special = {meta.bos_id, meta.eos_id, meta.unk_id, meta.pad_id};
        opt.add_bos = meta.add_bos.value_or(true);
        opt.add_eos = meta.add_eos.value_or(false);
        opt.add_space_prefix = meta.add_space_prefix.value_or(true);
        return make_sentencepiece_bpe(meta.tokens, meta.scores, meta.token_type, opt);
    }
    if (meta.model != "gpt2")
        throw InputError(where, "tokenizer.ggml.model '" + meta.model + "' is not supported (gpt2 or llama)");
    if (!meta.token_type.empty() && meta.token_type.size() != meta.tokens.size())
        throw InputError(where, format("%zu token types for %zu tokens", meta.token_type.size(), meta.tokens.size()));
    ByteLevelBpeSpec spec;
    spec.vocab.where = where;
    spec.vocab.texts = meta.tokens;
    spec.vocab.types.assign(meta.tokens.size(), TokenType::normal);
    for (size_t i = 0; i < meta.token_type.size(); ++i) {
        if (meta.token_type[i] < 0 || meta.token_type[i] > 6)
            throw InputError(where, format("token %zu has unknown type %d", i, meta.token_type[i]));
        spec.vocab.types[i] = TokenType(meta.token_type[i]);
    }
    spec.vocab.special = {meta.bos_id, meta.eos_id, meta.unk_id, meta.pad_id};
    if (meta.add_bos.value_or(false) && meta.bos_id >= 0) spec.vocab.prefix_ids.push_back(meta.bos_id);
    if (meta.add_eos.value_or(false) && meta.eos_id >= 0) spec.vocab.suffix_ids.push_back(meta.eos_id);
    for (size_t r = 0; r < meta.merges.size(); ++r) {
        const std::string& m = meta.merges[r];
        const size_t sp = m.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= m.size())
            throw InputError(where, format("tokenizer.ggml.merges[%zu] '%s' is not two tokens separated by a space", r,
                                           m.c_str()));
        spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
    }
    spec.split = split_for_pre(where, meta.pre);
    spec.nfc = spec.split == SplitPattern::qwen2;              // Qwen's tokenizer.json normalizes to NFC
    spec.ignore_merges = spec.split == SplitPattern::llama3;  // as Llama-3's tokenizer.json (and llama.cpp)
    spec.add_prefix_space = meta.add_space_prefix.value_or(false);
    return make_byte_level_bpe(std::move(spec));
}

}  // namespace tern
