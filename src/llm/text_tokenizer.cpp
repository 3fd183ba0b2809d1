// The LLM commands' tokenizer: from a GGUF file's tokenizer.ggml.* metadata,
// or from the tokenizer.json (or GPT-2 encoder.json + vocab.bpe) beside a
// Hugging Face checkpoint. Also the model's chat template text and token-id
// parsing for --tokens.
#include "llm/text_tokenizer.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/gguf_reader.h"
#include "io/tokenizer.h"

namespace tern::llm {
namespace {

namespace fs = std::filesystem;

class WrappedTokenizer final : public TextTokenizer {
public:
    explicit WrappedTokenizer(std::unique_ptr<Tokenizer> t) : t_(std::move(t)) {}
    std::vector<int32_t> encode(std::string_view text, bool add_bos) const override {
        std::vector<int32_t> ids = t_->encode(text, /*add_special=*/false);
        // BOS when the vocabulary has one (llama.cpp's default for these families).
        const int32_t bos = t_->special_ids().bos;
        if (add_bos && bos >= 0 && (ids.empty() || ids.front() != bos)) ids.insert(ids.begin(), bos);
        return ids;
    }
    std::string decode_token(int32_t id) const override {
        if (id < 0 || static_cast<size_t>(id) >= t_->vocab_size()) return "";
        const TokenType type = t_->token_type(id);
        if (type == TokenType::control || type == TokenType::unknown) return "";
        return t_->token_to_piece(id);
    }
    std::optional<int32_t> token_id(std::string_view text) const override { return t_->token_id(text); }

private:
    std::unique_ptr<Tokenizer> t_;
};

std::string metadata_string(const io::GgufMetadata& md, const std::string& key) {
    const io::GgufValue* v = io::find_metadata(md, key);
    return v && v->type == io::GgufType::string ? v->s : std::string();
}

int32_t metadata_id(const io::GgufMetadata& md, const std::string& key) {
    const io::GgufValue* v = io::find_metadata(md, key);
    if (!v) return -1;
    switch (v->type) {
        case io::GgufType::u8: case io::GgufType::u16: case io::GgufType::u32: case io::GgufType::u64:
            return static_cast<int32_t>(v->u);
        case io::GgufType::i8: case io::GgufType::i16: case io::GgufType::i32: case io::GgufType::i64:
            return static_cast<int32_t>(v->i);
        default: return -1;
    }
}

std::optional<bool> metadata_bool(const io::GgufMetadata& md, const std::string& key) {
    const io::GgufValue* v = io::find_metadata(md, key);
    if (!v || v->type != io::GgufType::boolean) return std::nullopt;
    return v->u != 0;
}

std::unique_ptr<Tokenizer> from_gguf(const std::string& path) {
    const io::GgufModel m = io::read_gguf(path);
    const io::GgufMetadata& md = m.info.metadata;
    const io::GgufValue* tokens = io::find_metadata(md, "tokenizer.ggml.tokens");
    // No tokenizer.ggml.model: the file names its tokens but not how to split
    // text, so there is no tokenizer (the commands then take token ids).
    if (!tokens || !io::find_metadata(md, "tokenizer.ggml.model")) return nullptr;
    GgufTokenizerMetadata meta;
    meta.where = path;
    meta.model = metadata_string(md, "tokenizer.ggml.model");
    meta.pre = metadata_string(md, "tokenizer.ggml.pre");
    meta.tokens = tokens->strings;
    if (const auto* s = io::find_metadata(md, "tokenizer.ggml.scores"); s && s->elem_type == io::GgufType::f32)
        meta.scores = s->array_as<float>();
    if (const auto* t = io::find_metadata(md, "tokenizer.ggml.token_type"); t && t->elem_type == io::GgufType::i32)
        meta.token_type = t->array_as<int32_t>();
    if (const auto* mg = io::find_metadata(md, "tokenizer.ggml.merges")) meta.merges = mg->strings;
    meta.bos_id = metadata_id(md, "tokenizer.ggml.bos_token_id");
    meta.eos_id = metadata_id(md, "tokenizer.ggml.eos_token_id");
    meta.unk_id = metadata_id(md, "tokenizer.ggml.unknown_token_id");
    meta.pad_id = metadata_id(md, "tokenizer.ggml.padding_token_id");
    meta.add_bos = metadata_bool(md, "tokenizer.ggml.add_bos_token");
    meta.add_eos = metadata_bool(md, "tokenizer.ggml.add_eos_token");
    meta.add_space_prefix = metadata_bool(md, "tokenizer.ggml.add_space_prefix");
    return tokenizer_from_gguf_metadata(meta);
}

std::unique_ptr<Tokenizer> from_folder(const fs::path& dir) {
    if (fs::exists(dir / "tokenizer.json")) return load_tokenizer_json((dir / "tokenizer.json").string());
    if (fs::exists(dir / "encoder.json") && fs::exists(dir / "vocab.bpe"))
        return load_gpt2_bpe((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
    return nullptr;
}

bool is_gguf_file(const std::string& path) {
    const auto file = MappedFile::open(path);
    const std::span<const uint8_t> head(file->data(), std::min<size_t>(file->size(), 16));
    return io::looks_like_gguf(head);
}

// tokenizer_config.json's chat_template: one string, or a list of
// {"name", "template"} entries (transformers' named templates).
std::string template_from_tokenizer_config(const fs::path& cfg_path) {
    if (!fs::exists(cfg_path)) return {};
    std::ifstream in(cfg_path);
    const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("chat_template")) return {};
    const auto& t = j["chat_template"];
    if (t.is_string()) return t.get<std::string>();
    if (!t.is_array()) return {};
    std::string first;
    for (const auto& e : t) {
        if (!e.is_object() || !e.contains("template") || !e["template"].is_string()) continue;
        if (e.value("name", "") == "default") return e["template"].get<std::string>();
        if (first.empty()) first = e["template"].get<std::string>();
    }
    return first;
}

}  // namespace

std::string load_chat_template_text(const std::string& model_path) {
    const fs::path p(model_path);
    if (fs::is_directory(p)) return template_from_tokenizer_config(p / "tokenizer_config.json");
    if (!is_gguf_file(model_path)) return template_from_tokenizer_config(p.parent_path() / "tokenizer_config.json");
    return metadata_string(io::read_gguf(model_path).info.metadata, "tokenizer.chat_template");
}

std::unique_ptr<TextTokenizer> load_text_tokenizer(const std::string& model_path) {
    std::unique_ptr<Tokenizer> t;
    const fs::path p(model_path);
    if (fs::is_directory(p)) {
        t = from_folder(p);
    } else {
        t = is_gguf_file(model_path) ? from_gguf(model_path) : from_folder(p.parent_path());
    }
    if (!t) return nullptr;
    return std::make_unique<WrappedTokenizer>(std::move(t));
}

std::vector<int32_t> parse_token_ids(std::string_view text, const std::string& where) {
    std::vector<int32_t> ids;
    size_t i = 0;
    while (i < text.size()) {
        const unsigned char ch = static_cast<unsigned char>(text[i]);
        if (std::isspace(ch) || ch == ',') {
            ++i;
            continue;
        }
        if (!std::isdigit(ch))
            throw InputError(where, format("expected a token id at offset %zu, found '%c'", i, text[i]));
        int64_t v = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            v = v * 10 + (text[i] - '0');
            if (v > INT32_MAX) throw InputError(where, "token id too large");
            ++i;
        }
        ids.push_back(static_cast<int32_t>(v));
    }
    return ids;
}

}  // namespace tern::llm
