// Loaders for byte-level BPE files: HF tokenizer.json (+ tokenizer_config.json)
// and OpenAI's encoder.json + vocab.bpe. Every problem becomes one InputError
// that names the file.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "io/tokenizer_internal.h"
#include "io/tokenizer_to_gguf.h"

namespace tern {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string read_tokenizer_json_text(const std::string& path) {
    try {
        auto f = MappedFile::open(path);
        return std::string(reinterpret_cast<const char*>(f->data()), f->size());
    } catch (const IoError& e) {
        throw InputError(path, e.detail());
    }
}

json parse_json_file(const std::string& path) {
    const std::string text = read_tokenizer_json_text(path);
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw InputError(path, std::string("not valid JSON: ") + e.what());
    }
}

// Which split regex a tokenizer.json pre_tokenizer section describes.
struct PreTokenizerInfo {
    SplitPattern split = SplitPattern::gpt2;
    bool add_prefix_space = false;
};

SplitPattern pattern_from_regex(const std::string& path, const std::string& regex) {
    for (SplitPattern p : {SplitPattern::gpt2, SplitPattern::llama3, SplitPattern::qwen2})
        if (regex == split_pattern_regex(p)) return p;
    throw InputError(path, "pre_tokenizer split regex is not one tern implements (GPT-2, Llama-3, Qwen2): " + regex);
}

PreTokenizerInfo parse_pre_tokenizer(const std::string& path, const json& pre) {
    if (!pre.is_object()) throw InputError(path, "pre_tokenizer is missing; only byte-level BPE is supported");
    const std::string type = pre.value("type", "");
    if (type == "ByteLevel") {
        if (!pre.value("use_regex", true))
            throw InputError(path, "ByteLevel pre_tokenizer with use_regex=false and no Split is not supported");
        return {SplitPattern::gpt2, pre.value("add_prefix_space", false)};
    }
    if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
        const json& seq = pre["pretokenizers"];
        // The supported shape: Split(regex, Isolated) then ByteLevel(use_regex = false).
        if (seq.size() == 2 && seq[0].value("type", "") == "Split" && seq[1].value("type", "") == "ByteLevel" &&
            !seq[1].value("use_regex", true)) {
            const json& split = seq[0];
            if (split.value("behavior", "") != "Isolated" || split.value("invert", false))
                throw InputError(path, "pre_tokenizer Split must have behavior Isolated and invert false");
            if (!split.contains("pattern") || !split["pattern"].contains("Regex") ||
                !split["pattern"]["Regex"].is_string())
                throw InputError(path, "pre_tokenizer Split has no Regex pattern");
            return {pattern_from_regex(path, split["pattern"]["Regex"].get<std::string>()),
                    seq[1].value("add_prefix_space", false)};
        }
        if (seq.size() == 1) return parse_pre_tokenizer(path, seq[0]);
    }
    throw InputError(path, "pre_tokenizer '" + pre.dump().substr(0, 120) +
                               "' is not supported (byte-level BPE with the GPT-2, Llama-3 or Qwen2 split only)");
}

bool parse_normalizer(const std::string& path, const json& norm) {
    if (norm.is_null()) return false;
    const std::string type = norm.value("type", "");
    if (type == "NFC") return true;
    if (type == "Sequence" && norm.contains("normalizers") && norm["normalizers"].is_array()) {
        const json& seq = norm["normalizers"];
        if (seq.empty()) return false;
        if (seq.size() == 1) return parse_normalizer(path, seq[0]);
    }
    throw InputError(path, "normalizer '" + norm.dump().substr(0, 120) + "' is not supported (none or NFC only)");
}

std::pair<std::string, std::string> split_merge(const std::string& path, size_t rank, const json& m) {
    if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() || s.find(' ', sp + 1) != std::string::npos)
            throw InputError(path, format("merge %zu '%s' is not two tokens separated by one space", rank, s.c_str()));
        return {s.substr(0, sp), s.substr(sp + 1)};
    }
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        return {m[0].get<std::string>(), m[1].get<std::string>()};
    throw InputError(path, format("merge %zu is neither \"a b\" nor [\"a\", \"b\"]: %s", rank, m.dump().c_str()));
}

// tokenizer_config.json writes a special token as "text" or {"content": "text"}.
std::string config_token(const json& cfg, const char* key) {
    if (!cfg.contains(key)) return {};
    const json& v = cfg[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return {};
}

void set_token_id(Tokenizer::Vocab& vocab, const TextToId& ids, const std::string& text, int32_t& slot) {
    if (text.empty()) return;
    auto it = ids.find(text);
    if (it != ids.end()) slot = it->second;
}

}  // namespace

namespace {

// A token id from the file, checked before it sizes the dense token table: one id
// far past the number of entries would make a small file allocate gigabytes (found
// by fuzz_tokenizer_json). Real vocabularies are dense; some gaps are allowed.
size_t checked_token_id(const json& id_json, size_t n_entries, const std::string& path, const std::string& text) {
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0)
        throw InputError(path, "token '" + text + "' has an invalid id " + id_json.dump());
    if (id_json.get<int64_t>() >= static_cast<int64_t>(n_entries) + (int64_t{1} << 16))
        throw InputError(path, "token '" + text + "' has id " + id_json.dump() + ", far past the " +
                                   std::to_string(n_entries) + " tokens the file defines");
    return id_json.get<size_t>();
}

// What a parsed tokenizer.json describes; `cfg` is the parsed
// tokenizer_config.json beside it, if any. `path` names the source in errors.
ByteLevelBpeSpec spec_from_json(const json& j, const std::string& path, const json* cfg_json) {
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
        throw InputError(path, "no 'model' section: not a tokenizer.json");
    const json& model = j["model"];
    const std::string type = model.value("type", model.contains("merges") ? "BPE" : "");
    if (type != "BPE")
        throw InputError(path, "model type '" + type + "' is not supported (only byte-level BPE)");
    if (model.value("byte_fallback", false))
        throw InputError(path, "BPE with byte_fallback (SentencePiece-style tokenizer.json) is not supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
        if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
            throw InputError(path, std::string("BPE option ") + key + " is not supported");
    if (!model.contains("vocab") || !model["vocab"].is_object())
        throw InputError(path, "model.vocab is missing or not an object");
    if (!model.contains("merges") || !model["merges"].is_array())
        throw InputError(path, "model.merges is missing or not an array");

    ByteLevelBpeSpec spec;
    spec.vocab.where = path;
    Tokenizer::Vocab& v = spec.vocab;
    TextToId ids;
    const size_t n_entries = model["vocab"].size() + (j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0);
    auto place = [&](const std::string& text, const json& id_json, TokenType t) {
        const size_t id = checked_token_id(id_json, n_entries, path, text);
        if (id >= v.texts.size()) {
            v.texts.resize(id + 1);
            v.types.resize(id + 1, TokenType::unused);
        }
        v.texts[id] = text;
        v.types[id] = t;
        ids.emplace(text, int32_t(id));
    };
    for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) place(it.key(), it.value(), TokenType::normal);
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
        for (const json& t : j["added_tokens"]) {
            if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id"))
                throw InputError(path, "added_tokens entry without content and id: " + t.dump());
            place(t["content"].get<std::string>(), t["id"],
                  t.value("special", false) ? TokenType::control : TokenType::user_defined);
        }
    }
    for (size_t id = 0; id < v.texts.size(); ++id)
        if (v.texts[id].empty()) v.types[id] = TokenType::unused;

    const json& merges = model["merges"];
    spec.merges.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) spec.merges.push_back(split_merge(path, r, merges[r]));
    spec.ignore_merges = model.value("ignore_merges", false);
    const PreTokenizerInfo pre = parse_pre_tokenizer(path, j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json());
    spec.split = pre.split;
    spec.add_prefix_space = pre.add_prefix_space;
    spec.nfc = parse_normalizer(path, j.contains("normalizer") ? j["normalizer"] : json());

    if (model.contains("unk_token") && model["unk_token"].is_string())
        set_token_id(v, ids, model["unk_token"].get<std::string>(), v.special.unk);

    // What add_special adds: the post_processor's single-sequence template.
    bool have_template = false;
    if (j.contains("post_processor") && j["post_processor"].is_object()) {
        const json& pp = j["post_processor"];
        const json* tp = nullptr;
        if (pp.value("type", "") == "TemplateProcessing") tp = &pp;
        else if (pp.value("type", "") == "Sequence" && pp.contains("processors"))
            for (const json& p : pp["processors"])
                if (p.value("type", "") == "TemplateProcessing") tp = &p;
        if (tp && tp->contains("single") && (*tp)["single"].is_array()) {
            have_template = true;
            bool after_text = false;
            for (const json& piece : (*tp)["single"]) {
                if (piece.contains("Sequence")) { after_text = true; continue; }
                if (!piece.contains("SpecialToken")) continue;
                const std::string name = piece["SpecialToken"].value("id", "");
                auto it = ids.find(name);
                if (it == ids.end())
                    throw InputError(path, "post_processor template names unknown token '" + name + "'");
                (after_text ? v.suffix_ids : v.prefix_ids).push_back(it->second);
            }
        }
    }

    if (cfg_json && cfg_json->is_object()) {
        const json& cfg = *cfg_json;
        set_token_id(v, ids, config_token(cfg, "bos_token"), v.special.bos);
        set_token_id(v, ids, config_token(cfg, "eos_token"), v.special.eos);
        set_token_id(v, ids, config_token(cfg, "pad_token"), v.special.pad);
        set_token_id(v, ids, config_token(cfg, "unk_token"), v.special.unk);
        if (!have_template) {
            auto flag = [&](const char* key) { return cfg.contains(key) && cfg[key].is_boolean() && cfg[key].get<bool>(); };
            if (flag("add_bos_token") && v.special.bos >= 0) v.prefix_ids.push_back(v.special.bos);
            if (flag("add_eos_token") && v.special.eos >= 0) v.suffix_ids.push_back(v.special.eos);
        }
    }
    return spec;
}

// A field of the wrong JSON type (null where a string belongs, ...) makes the
// JSON library throw; that is bad input, reported with the file's name.
ByteLevelBpeSpec spec_from_json_checked(const json& j, const std::string& path, const json* cfg) {
    try {
        return spec_from_json(j, path, cfg);
    } catch (const json::exception& e) {
        throw InputError(path, std::string("malformed tokenizer.json: ") + e.what());
    }
}
std::unique_ptr<Tokenizer> tokenizer_from_json_checked(const json& j, const std::string& path, const json* cfg) {
    return make_byte_level_bpe(spec_from_json_checked(j, path, cfg));
}

// tokenizer.json (+ tokenizer_config.json beside it) as a spec.
ByteLevelBpeSpec load_spec(const std::string& path) {
    const json j = parse_json_file(path);
    const fs::path cfg_path = fs::path(path).parent_path() / "tokenizer_config.json";
    if (std::error_code ec; fs::is_regular_file(cfg_path, ec)) {
        const json cfg = parse_json_file(cfg_path.string());
        return spec_from_json_checked(j, path, &cfg);
    }
    return spec_from_json_checked(j, path, nullptr);
}

// llama.cpp's tokenizer.ggml.pre name for each split regex.
const char* gguf_pre_name(SplitPattern p) {
    switch (p) {
        case SplitPattern::gpt2: return "gpt-2";
        case SplitPattern::llama3: return "llama-bpe";
        case SplitPattern::qwen2: return "qwen2";
    }
    return "default";
}

}  // namespace

std::unique_ptr<Tokenizer> parse_tokenizer_json(std::string_view text, const std::string& where) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw InputError(where, std::string("not valid JSON: ") + e.what());
    }
    return tokenizer_from_json_checked(j, where, nullptr);
}

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& path) { return make_byte_level_bpe(load_spec(path)); }

GgufTokenizerMetadata gguf_tokenizer_from_json(const std::string& path) {
    ByteLevelBpeSpec spec = load_spec(path);
    // The spec must also build: the same checks a tokenizer load makes (merges name known tokens, ...).
    const ByteLevelBpeSpec copy = spec;
    (void)make_byte_level_bpe(ByteLevelBpeSpec(copy));
    GgufTokenizerMetadata m;
    m.where = path;
    m.model = "gpt2";  // llama.cpp's name for byte-level BPE
    m.pre = gguf_pre_name(spec.split);
    m.tokens = std::move(spec.vocab.texts);
    m.token_type.reserve(spec.vocab.types.size());
    for (TokenType t : spec.vocab.types) m.token_type.push_back(static_cast<int32_t>(t));
    m.merges.reserve(spec.merges.size());
    for (const auto& [a, b] : spec.merges) m.merges.push_back(a + " " + b);
    const SpecialTokenIds& sp = spec.vocab.special;
    m.bos_id = sp.bos, m.eos_id = sp.eos, m.unk_id = sp.unk, m.pad_id = sp.pad;
    // What encode(add_special) adds: one BOS before and/or one EOS after the text.
    const auto& pre = spec.vocab.prefix_ids;
    const auto& suf = spec.vocab.suffix_ids;
    if (pre.size() > 1 || suf.size() > 1)
        throw InputError(path, "the post_processor adds more than one token on a side; GGUF can say only add_bos / add_eos");
    if (!pre.empty() && m.bos_id < 0) m.bos_id = pre[0];
    if (!suf.empty() && m.eos_id < 0) m.eos_id = suf[0];
    if ((!pre.empty() && pre[0] != m.bos_id) || (!suf.empty() && suf[0] != m.eos_id))
        throw InputError(path, "the post_processor adds a token that is not the bos/eos token; GGUF cannot say so");
    m.add_bos = !pre.empty();
    m.add_eos = !suf.empty();
    if (spec.add_prefix_space) m.add_space_prefix = true;
    return m;
}

std::unique_ptr<Tokenizer> load_gpt2_bpe(const std::string& encoder_json, const std::string& vocab_bpe) {
    const json enc = parse_json_file(encoder_json);
    if (!enc.is_object() || enc.empty()) throw InputError(encoder_json, "expected an object mapping token -> id");
    ByteLevelBpeSpec spec;
    spec.vocab.where = encoder_json;
    Tokenizer::Vocab& v = spec.vocab;
    for (auto it = enc.begin(); it != enc.end(); ++it) {
        const size_t id = checked_token_id(it.value(), enc.size(), encoder_json, it.key());
        if (id >= v.texts.size()) v.texts.resize(id + 1);
        v.texts[id] = it.key();
    }
    v.types.assign(v.texts.size(), TokenType::normal);
    for (size_t id = 0; id < v.texts.size(); ++id) {
        if (v.texts[id].empty()) v.types[id] = TokenType::unused;
        if (v.texts[id] == "<|endoftext|>") {  // GPT-2's only special token: document separator
            v.types[id] = TokenType::control;
            v.special.bos = v.special.eos = int32_t(id);
        }
    }
    const std::string bpe = read_tokenizer_json_text(vocab_bpe);
    size_t line_no = 0;
    for (size_t pos = 0; pos < bpe.size();) {
        size_t end = bpe.find('\n', pos);
        if (end == std::string::npos) end = bpe.size();
        std::string line = bpe.substr(pos, end - pos);
        pos = end + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
        const size_t sp = line.find(' ');
        if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
            throw InputError(vocab_bpe, format("line %zu '%s' is not two tokens separated by one space", line_no,
                                               line.c_str()));
        spec.merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
    }
    if (spec.merges.empty()) throw InputError(vocab_bpe, "no merges found");
    spec.split = SplitPattern::gpt2;
    return make_byte_level_bpe(std::move(spec));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        const fs::path dir(path);
        if (fs::is_regular_file(dir / "tokenizer.json", ec)) return load_tokenizer_json((dir / "tokenizer.json").string());
        if (fs::is_regular_file(dir / "encoder.json", ec) && fs::is_regular_file(dir / "vocab.bpe", ec))
            return load_gpt2_bpe((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
        throw InputError(path, "directory holds neither tokenizer.json nor encoder.json + vocab.bpe");
    }
    if (fs::path(path).filename() == "encoder.json")
        return load_gpt2_bpe(path, (fs::path(path).parent_path() / "vocab.bpe").string());
    return load_tokenizer_json(path);
}

}  // namespace tern
