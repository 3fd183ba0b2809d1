// ModelConfig from GGUF metadata and from HF config.json.
#include "llm/model_config.h"

#include <cmath>
#include <fstream>
#include <optional>

#include "core/error.h"

namespace tern::llm {

const char* arch_name(Arch a) {
    switch (a) {
        case Arch::llama: return "llama";
        case Arch::qwen2: return "qwen2";
        case Arch::gpt2: return "gpt2";
    }
    return "?";
}

namespace {

std::optional<double> gguf_number(const io::GgufMetadata& md, const std::string& key) {
    const io::GgufValue* v = io::find_metadata(md, key);
    if (!v) return std::nullopt;
    switch (v->type) {
        case io::GgufType::u8: case io::GgufType::u16: case io::GgufType::u32: case io::GgufType::u64:
        case io::GgufType::boolean:
            return static_cast<double>(v->u);
        case io::GgufType::i8: case io::GgufType::i16: case io::GgufType::i32: case io::GgufType::i64:
            return static_cast<double>(v->i);
        case io::GgufType::f32: case io::GgufType::f64:
            return v->f;
        default: return std::nullopt;
    }
}

double gguf_required(const io::GgufMetadata& md, const std::string& key, const std::string& where) {
    auto v = gguf_number(md, key);
    if (!v) throw InputError(where, "metadata key '" + key + "' is missing or not a number");
    return *v;
}

// Sizes may be stored as any numeric type; an f64 past int64 (or NaN) would make
// the cast undefined, so it is rejected here, naming the key.
int64_t to_int(double v, const std::string& key, const std::string& where) {
    if (!(v >= -9.0e18 && v <= 9.0e18)) throw InputError(where, "metadata key '" + key + "' is out of range");
    return static_cast<int64_t>(v);
}
int64_t gguf_required_int(const io::GgufMetadata& md, const std::string& key, const std::string& where) {
    return to_int(gguf_required(md, key, where), key, where);
}
int64_t gguf_int_or(const io::GgufMetadata& md, const std::string& key, int64_t dflt, const std::string& where) {
    const auto v = gguf_number(md, key);
    return v ? to_int(*v, key, where) : dflt;
}
// A token id, or -1 (unknown) when absent or not an int32.
int32_t gguf_token_id(const io::GgufMetadata& md, const std::string& key) {
    const auto v = gguf_number(md, key);
    return v && *v >= 0 && *v <= 2147483647.0 ? static_cast<int32_t>(*v) : -1;
}

}  // namespace

ModelConfig config_from_gguf(const io::GgufMetadata& md, const std::string& where) {
    const io::GgufValue* arch_v = io::find_metadata(md, "general.architecture");
    if (!arch_v || arch_v->type != io::GgufType::string)
        throw InputError(where, "metadata key 'general.architecture' is missing");
    const std::string a = arch_v->s;
    ModelConfig c;
    if (a == "llama") c.arch = Arch::llama;
    else if (a == "qwen2") c.arch = Arch::qwen2;
    else if (a == "gpt2") c.arch = Arch::gpt2;
    else throw InputError(where, "architecture '" + a + "' is not supported (supported: llama, qwen2, gpt2)");

    const std::string p = a + ".";
    c.n_embd = gguf_required_int(md, p + "embedding_length", where);
    c.n_layer = gguf_required_int(md, p + "block_count", where);
    c.n_ff = gguf_required_int(md, p + "feed_forward_length", where);
    c.n_head = gguf_required_int(md, p + "attention.head_count", where);
    c.n_head_kv = gguf_int_or(md, p + "attention.head_count_kv", c.n_head, where);
    c.n_ctx_train = gguf_int_or(md, p + "context_length", 2048, where);
    c.head_dim = c.n_head > 0 ? c.n_embd / c.n_head : 0;
    c.head_dim = gguf_int_or(md, p + "attention.key_length", c.head_dim, where);
    if (c.arch == Arch::gpt2) {
        c.norm_eps = static_cast<float>(gguf_number(md, p + "attention.layer_norm_epsilon").value_or(1e-5));
        c.attn_qkv_bias = c.attn_out_bias = true;
    } else {
        c.norm_eps = static_cast<float>(gguf_required(md, p + "attention.layer_norm_rms_epsilon", where));
        c.rope_theta = static_cast<float>(gguf_number(md, p + "rope.freq_base").value_or(10000.0));
        c.rope_dim = gguf_int_or(md, p + "rope.dimension_count", c.head_dim, where);
        // llama.cpp's converter permutes llama q/k rows for adjacent-pair RoPE;
        // qwen2 keeps the HF (NeoX) layout and llama.cpp rotates it that way.
        c.rope_neox = c.arch == Arch::qwen2;
        c.attn_qkv_bias = c.arch == Arch::qwen2;
        if (const io::GgufValue* st = io::find_metadata(md, p + "rope.scaling.type")) {
            const std::string t = st->type == io::GgufType::string ? st->s : "";
            if (t == "linear") {
                c.rope_scaling = RopeScaling::linear;
                c.rope_factor = static_cast<float>(gguf_required(md, p + "rope.scaling.factor", where));
            } else if (t == "llama3") {
                // Not written by llama.cpp (it stores rope_freqs.weight instead), accepted for tern's own files.
                c.rope_scaling = RopeScaling::llama3;
                c.rope_factor = static_cast<float>(gguf_required(md, p + "rope.scaling.factor", where));
                c.rope_low_freq_factor = static_cast<float>(gguf_number(md, p + "rope.scaling.low_freq_factor").value_or(1.0));
                c.rope_high_freq_factor = static_cast<float>(gguf_number(md, p + "rope.scaling.high_freq_factor").value_or(4.0));
                c.rope_orig_ctx = gguf_int_or(md, p + "rope.scaling.original_context_length", 8192, where);
            } else if (t != "none" && !t.empty()) {
                throw InputError(where, "rope scaling '" + t + "' is not supported (supported: none, linear, llama3)");
            }
        } else if (auto f = gguf_number(md, p + "rope.scale_linear")) {
            c.rope_scaling = RopeScaling::linear;
            c.rope_factor = static_cast<float>(*f);
        }
    }
    if (const io::GgufValue* toks = io::find_metadata(md, "tokenizer.ggml.tokens"); toks && toks->type == io::GgufType::array)
        c.n_vocab = static_cast<int64_t>(toks->count);
    else if (auto vs = gguf_number(md, p + "vocab_size"))
        c.n_vocab = to_int(*vs, p + "vocab_size", where);
    // else: the loader takes it from token_embd's rows.
    c.bos_token = gguf_token_id(md, "tokenizer.ggml.bos_token_id");
    c.eos_token = gguf_token_id(md, "tokenizer.ggml.eos_token_id");
    c.ffn_down_hadamard = gguf_int_or(md, kFfnDownHadamardKey, 0, where);
    return c;
}

namespace {

int64_t json_int(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key) || !j[key].is_number()) throw InputError(where, std::string("config key '") + key + "' is missing or not a number");
    return j[key].get<int64_t>();
}
template <class T>
T json_or(const nlohmann::json& j, const char* key, T dflt) {
    if (!j.contains(key) || j[key].is_null()) return dflt;
    return j[key].get<T>();
}
int32_t first_token_id(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) return -1;
    const auto& v = j[key];
    if (v.is_number_integer()) return v.get<int32_t>();
    if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int32_t>();
    return -1;
}

}  // namespace

ModelConfig config_from_hf_json(const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) throw InputError(where, "config is not a JSON object");
    std::string name;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        name = j["architectures"][0].get<std::string>();
    const std::string model_type = json_or<std::string>(j, "model_type", "");
    ModelConfig c;
    if (name == "LlamaForCausalLM" || name == "MistralForCausalLM" || (name.empty() && (model_type == "llama" || model_type == "mistral")))
        c.arch = Arch::llama;
    else if (name == "Qwen2ForCausalLM" || (name.empty() && model_type == "qwen2"))
        c.arch = Arch::qwen2;
    else if (name == "GPT2LMHeadModel" || (name.empty() && model_type == "gpt2"))
        c.arch = Arch::gpt2;
    else
        throw InputError(where, "architecture '" + (name.empty() ? model_type : name) +
                                    "' is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel)");
    c.bos_token = first_token_id(j, "bos_token_id");
    c.eos_token = first_token_id(j, "eos_token_id");
    c.n_vocab = json_int(j, "vocab_size", where);
    if (c.arch == Arch::gpt2) {
        c.n_embd = json_int(j, "n_embd", where);
        c.n_layer = json_int(j, "n_layer", where);
        c.n_head = json_int(j, "n_head", where);
        c.n_head_kv = c.n_head;
        c.head_dim = c.n_head > 0 ? c.n_embd / c.n_head : 0;
        c.n_ff = json_or<int64_t>(j, "n_inner", 4 * c.n_embd);
        c.n_ctx_train = json_or<int64_t>(j, "n_positions", json_or<int64_t>(j, "n_ctx", 1024));
        c.norm_eps = json_or<float>(j, "layer_norm_epsilon", 1e-5f);
        const std::string act = json_or<std::string>(j, "activation_function", "gelu_new");
        if (act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw InputError(where, "GPT-2 activation '" + act + "' is not supported (gelu_new)");
        c.attn_qkv_bias = c.attn_out_bias = true;
        c.tied_embeddings = true;
        return c;
    }
    c.n_embd = json_int(j, "hidden_size", where);
    c.n_layer = json_int(j, "num_hidden_layers", where);
    c.n_ff = json_int(j, "intermediate_size", where);
    c.n_head = json_int(j, "num_attention_heads", where);
    c.n_head_kv = json_or<int64_t>(j, "num_key_value_heads", c.n_head);
    c.head_dim = json_or<int64_t>(j, "head_dim", c.n_head > 0 ? c.n_embd / c.n_head : 0);
    c.n_ctx_train = json_or<int64_t>(j, "max_position_embeddings", 2048);
    c.norm_eps = json_or<float>(j, "rms_norm_eps", 1e-6f);
    c.rope_theta = json_or<float>(j, "rope_theta", 10000.0f);
    c.rope_dim = c.head_dim;
    c.rope_neox = true;  // HF checkpoints keep q/k in the half-split layout
    c.tied_embeddings = json_or<bool>(j, "tie_word_embeddings", false);
    if (c.arch == Arch::qwen2) {
        c.attn_qkv_bias = true;
    } else if (json_or<bool>(j, "attention_bias", false)) {
        c.attn_qkv_bias = c.attn_out_bias = true;
    }
    if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
        const auto& rs = j["rope_scaling"];
        const std::string t = json_or<std::string>(rs, "rope_type", json_or<std::string>(rs, "type", ""));
        if (t == "llama3") {
            c.rope_scaling = RopeScaling::llama3;
            c.rope_factor = json_or<float>(rs, "factor", 8.0f);
            c.rope_low_freq_factor = json_or<float>(rs, "low_freq_factor", 1.0f);
            c.rope_high_freq_factor = json_or<float>(rs, "high_freq_factor", 4.0f);
            c.rope_orig_ctx = json_or<int64_t>(rs, "original_max_position_embeddings", 8192);
        } else if (t == "linear") {
            c.rope_scaling = RopeScaling::linear;
            c.rope_factor = json_or<float>(rs, "factor", 1.0f);
        } else if (t != "default" && !t.empty()) {
            throw InputError(where, "rope_scaling type '" + t + "' is not supported (supported: linear, llama3)");
        }
    }
    return c;
}

ModelConfig config_from_hf_file(const std::string& config_path) {
    std::ifstream in(config_path);
    if (!in) throw IoError(config_path, "cannot open (an HF checkpoint needs config.json beside its weights)");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw InputError(config_path, "not valid JSON");
    return config_from_hf_json(j, config_path);
}

void validate_config(const ModelConfig& c, const std::string& where) {
    auto pos = [&](int64_t v, const char* what) {
        if (v <= 0 || v > (int64_t{1} << 31)) throw InputError(where, format("%s = %lld is not a positive size", what, (long long)v));
    };
    pos(c.n_embd, "embedding length");
    pos(c.n_layer, "layer count");
    pos(c.n_ff, "feed-forward length");
    pos(c.n_head, "head count");
    pos(c.n_head_kv, "kv head count");
    pos(c.head_dim, "head dim");
    pos(c.n_vocab, "vocabulary size");
    pos(c.n_ctx_train, "context length");
    if (c.n_head % c.n_head_kv != 0)
        throw InputError(where, format("head count %lld is not a multiple of kv head count %lld", (long long)c.n_head,
                                       (long long)c.n_head_kv));
    if (c.head_dim % 2 != 0) throw InputError(where, "head dim must be even");
    if (c.uses_rope() && c.rope_dim != c.head_dim)
        throw InputError(where, format("partial rotary embeddings (rope dim %lld of head dim %lld) are not supported",
                                       (long long)c.rope_dim, (long long)c.head_dim));
    if (!(c.norm_eps > 0) || !std::isfinite(c.norm_eps)) throw InputError(where, "norm epsilon must be positive");
    if (c.uses_rope() && !(c.rope_theta > 0)) throw InputError(where, "rope freq base must be positive");
    if (c.rope_scaling != RopeScaling::none && !(c.rope_factor > 0)) throw InputError(where, "rope scaling factor must be positive");
    if (c.ffn_down_hadamard != 0 &&
        (c.ffn_down_hadamard < 2 || (c.ffn_down_hadamard & (c.ffn_down_hadamard - 1)) != 0 || c.n_ff % c.ffn_down_hadamard != 0))
        throw InputError(where, format("%s = %lld must be a power of two >= 2 dividing the feed-forward length %lld",
                                       kFfnDownHadamardKey, (long long)c.ffn_down_hadamard, (long long)c.n_ff));
}

}  // namespace tern::llm
