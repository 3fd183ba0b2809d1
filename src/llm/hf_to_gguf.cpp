// HF checkpoint -> llama.cpp GGUF: tensors renamed through the one name map,
// laid out as llama.cpp's convert_hf_to_gguf.py leaves them, plus the keys
// model_config.cpp and libllama read.
#include "llm/hf_to_gguf.h"


#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/format.h"
#include "io/gguf_writer.h"
#include "io/model_info.h"
#include "io/tensor_names.h"
#include "io/tokenizer_to_gguf.h"
#include "llm/model_config.h"
#include "llm/model_check.h"

namespace tern::llm {
namespace fs = std::filesystem;

namespace {

fs::path checkpoint_dir(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
}

void require_float(const Tensor& t, const std::string& where, const std::string& name) {
    const DType d = t.dtype();
    if (d != DType::f32 && d != DType::f16 && d != DType::bf16)
        throw InputError(where, "tensor '" + name + "' has dtype " + std::string(dtype_name(d)) +
                                    " (a Hugging Face checkpoint for conversion holds f32, f16 or bf16)");
}

// Plain float tensor -> f32 values (norms, biases, and weights being re-typed).
std::vector<float> floats_of(const Tensor& t, const std::string& where, const std::string& name) {
    require_float(t, where, name);
    return t.contiguous().to_floats();
}

Tensor encode(const Shape& shape, const std::vector<float>& v, DType t) {
    if (t == DType::f32) return Tensor::from_floats(shape, v);
    Tensor out = Tensor::empty(shape, t);
    format_for_dtype(t)->quantize(v.data(), out.raw_data(), static_cast<int64_t>(v.size()));
    return out;
}

// llama.cpp's convert permutes HF llama q/k rows (and biases) so each head's
// rotated pairs are adjacent: within a head of hd rows, new row 2i+j = old row j*hd/2 + i.
Tensor permute_rope_rows(const Tensor& w, int64_t n_head) {
    const Tensor src = w.contiguous();
    const int64_t rows = src.dim(0), hd = rows / n_head, half = hd / 2;
    const size_t row_bytes = src.nbytes() / static_cast<size_t>(rows);
    Tensor out = Tensor::empty(src.shape(), src.dtype());
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::memcpy(out.raw_data() + static_cast<size_t>(h * hd + 2 * i + j) * row_bytes,
                            src.raw_data() + static_cast<size_t>(h * hd + j * half + i) * row_bytes, row_bytes);
    return out;
}

// Llama-3 rope scaling as llama.cpp stores it: one divisor per rotated frequency.
std::vector<float> llama3_rope_factors(const ModelConfig& c) {
    std::vector<float> f;
    const double lo_wl = double(c.rope_orig_ctx) / c.rope_low_freq_factor;
    const double hi_wl = double(c.rope_orig_ctx) / c.rope_high_freq_factor;
    for (int64_t i = 0; i < c.rope_dim / 2; ++i) {
        const double freq = std::pow(double(c.rope_theta), -2.0 * double(i) / double(c.rope_dim));
        const double wl = 2 * std::numbers::pi / freq;
        if (wl < hi_wl) f.push_back(1.0f);
        else if (wl > lo_wl) f.push_back(c.rope_factor);
        else {
            const double smooth = (double(c.rope_orig_ctx) / wl - c.rope_low_freq_factor) /
                                  (c.rope_high_freq_factor - c.rope_low_freq_factor);
            f.push_back(float(1.0 / ((1 - smooth) / c.rope_factor + smooth)));
        }
    }
    return f;
}

void put_arch_metadata(io::GgufMetadata& md, const ModelConfig& c, const std::string& name) {
    const std::string a = arch_name(c.arch), p = a + ".";
    auto u32 = [&](const std::string& k, int64_t v) { md.emplace_back(p + k, io::GgufValue::of_u32(uint32_t(v))); };
    auto f32 = [&](const std::string& k, float v) { md.emplace_back(p + k, io::GgufValue::of_f32(v)); };
    md.emplace_back("general.architecture", io::GgufValue::of_string(a));
    md.emplace_back("general.name", io::GgufValue::of_string(name));
    u32("vocab_size", c.n_vocab);
    u32("context_length", c.n_ctx_train);
    u32("embedding_length", c.n_embd);
    u32("block_count", c.n_layer);
    u32("feed_forward_length", c.n_ff);
    u32("attention.head_count", c.n_head);
    if (c.arch == Arch::gpt2) {
        f32("attention.layer_norm_epsilon", c.norm_eps);
        return;
    }
    u32("attention.head_count_kv", c.n_head_kv);
    if (c.head_dim != c.n_embd / c.n_head) {
        u32("attention.key_length", c.head_dim);
        u32("attention.value_length", c.head_dim);
    }
    f32("rope.freq_base", c.rope_theta);
    u32("rope.dimension_count", c.rope_dim);
    f32("attention.layer_norm_rms_epsilon", c.norm_eps);
    if (c.rope_scaling == RopeScaling::linear) {
        md.emplace_back(p + "rope.scaling.type", io::GgufValue::of_string("linear"));
        f32("rope.scaling.factor", c.rope_factor);
    }
    // llama3 scaling travels as the rope_freqs.weight tensor, as llama.cpp writes it.
}

// tokenizer.json beside the weights -> tokenizer.ggml.* keys; false when there is none.
bool put_tokenizer_metadata(io::GgufMetadata& md, const fs::path& dir, const ModelConfig& c) {
    const fs::path tj = dir / "tokenizer.json";
    std::error_code ec;
    if (!fs::is_regular_file(tj, ec)) return false;
    GgufTokenizerMetadata t = gguf_tokenizer_from_json(tj.string());
    if (static_cast<int64_t>(t.tokens.size()) > c.n_vocab)
        throw InputError(tj.string(), "the tokenizer has " + std::to_string(t.tokens.size()) +
                                          " tokens but the model's vocabulary (config.json vocab_size) is " +
                                          std::to_string(c.n_vocab));
    // llama.cpp's convert: ids the tokenizer leaves free (padding rows of the
    // embedding) become "[PAD<id>]" tokens of type unused.
    for (size_t i = 0; i < static_cast<size_t>(c.n_vocab); ++i) {
        if (i >= t.tokens.size()) {
            t.tokens.emplace_back();
            t.token_type.push_back(static_cast<int32_t>(TokenType::unused));
        }
        if (t.tokens[i].empty()) {
            t.tokens[i] = "[PAD" + std::to_string(i) + "]";
            t.token_type[i] = static_cast<int32_t>(TokenType::unused);
        }
    }
    // config.json's ids stand in where tokenizer_config.json names none (as llama.cpp's SpecialVocab).
    if (t.bos_id < 0) t.bos_id = c.bos_token;
    if (t.eos_id < 0) t.eos_id = c.eos_token;
    md.emplace_back("tokenizer.ggml.model", io::GgufValue::of_string(t.model));
    md.emplace_back("tokenizer.ggml.pre", io::GgufValue::of_string(t.pre));
    md.emplace_back("tokenizer.ggml.tokens", io::GgufValue::of_strings(t.tokens));
    md.emplace_back("tokenizer.ggml.token_type", io::GgufValue::of_array(io::GgufType::i32, t.token_type));
    md.emplace_back("tokenizer.ggml.merges", io::GgufValue::of_strings(t.merges));
    auto id = [&](const char* key, int32_t v) {
        if (v >= 0 && v < c.n_vocab) md.emplace_back(key, io::GgufValue::of_u32(uint32_t(v)));
    };
    id("tokenizer.ggml.bos_token_id", t.bos_id);
    id("tokenizer.ggml.eos_token_id", t.eos_id);
    id("tokenizer.ggml.unknown_token_id", t.unk_id);
    id("tokenizer.ggml.padding_token_id", t.pad_id);
    md.emplace_back("tokenizer.ggml.add_bos_token", io::GgufValue::of_bool(t.add_bos.value_or(false)));
    md.emplace_back("tokenizer.ggml.add_eos_token", io::GgufValue::of_bool(t.add_eos.value_or(false)));
    if (t.add_space_prefix.value_or(false))
        md.emplace_back("tokenizer.ggml.add_space_prefix", io::GgufValue::of_bool(true));
    const fs::path cfg = dir / "tokenizer_config.json";
    if (fs::is_regular_file(cfg, ec)) {
        std::ifstream in(cfg);
        const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_object() && j.contains("chat_template") && j["chat_template"].is_string())
            md.emplace_back("tokenizer.chat_template", io::GgufValue::of_string(j["chat_template"].get<std::string>()));
    }
    return true;
}

}  // namespace

bool is_hf_llm_checkpoint(const std::string& path) {
    std::error_code ec;
    return fs::is_regular_file(checkpoint_dir(path) / "config.json", ec);
}

std::optional<uint32_t> llama_float_file_type(DType t) {
    if (t != DType::f32 && t != DType::f16 && t != DType::bf16) return std::nullopt;
    return dtype_info(t).llama_ftype;
}

GgufModelParts hf_to_gguf(const std::string& path, const HfToGgufOptions& options) {
    const fs::path dir = checkpoint_dir(path);
    ModelConfig c = config_from_hf_file((dir / "config.json").string());
    validate_config(c, path);
    if (options.weight_type && !llama_float_file_type(*options.weight_type))
        throw UsageError("convert", "weight type must be f32, f16 or bf16");

    GgufModelParts parts;
    std::string name = fs::absolute(dir).lexically_normal().filename().string();
    if (name.empty()) name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
    put_arch_metadata(parts.metadata, c, name);
    if (options.weight_type)
        parts.metadata.emplace_back("general.file_type",
                                    io::GgufValue::of_u32(*llama_float_file_type(*options.weight_type)));

    for (NamedTensor& t : load_tensors(path)) {
        const auto n = io::tensor_name_from_hf(t.name);
        if (!n) {
            if (io::is_hf_buffer(t.name)) continue;
            throw InputError(path, "tensor '" + t.name + "' is not a " + std::string(arch_name(c.arch)) +
                                       " weight tern knows a llama.cpp name for");
        }
        // A tied checkpoint that still stores lm_head: llama.cpp drops it too.
        if (n->role.role == io::TensorRole::output && c.tied_embeddings) continue;
        Tensor w = t.tensor;
        if (n->transpose) {
            if (w.rank() != 2) throw InputError(path, "tensor '" + t.name + "' must be a 2-D Conv1D weight");
            require_float(w, path, t.name);
            w = w.transpose(0, 1).contiguous();
        }
        const bool rope_rows = c.arch == Arch::llama &&
                               (n->role.role == io::TensorRole::attn_q || n->role.role == io::TensorRole::attn_k);
        if (rope_rows) {
            const int64_t heads = n->role.role == io::TensorRole::attn_q ? c.n_head : c.n_head_kv;
            if (w.rank() < 1 || w.dim(0) != heads * c.head_dim)
                throw InputError(path, "tensor '" + t.name + "' has shape " + shape_to_string(w.shape()) + ", expected " +
                                           std::to_string(heads * c.head_dim) + " rows");
            w = permute_rope_rows(w, heads);
        }
        // llama.cpp keeps 1-D tensors (norms, biases) in f32.
        const std::optional<DType> want = w.rank() < 2 ? std::optional<DType>(DType::f32) : options.weight_type;
        if (want && w.dtype() != *want) w = encode(w.shape(), floats_of(w, path, t.name), *want);
        parts.tensors.push_back({n->gguf_name, w});
    }
    if (c.rope_scaling == RopeScaling::llama3) {
        const std::vector<float> f = llama3_rope_factors(c);
        parts.tensors.push_back({"rope_freqs.weight", Tensor::from_floats({int64_t(f.size())}, f)});
    }
    parts.has_tokenizer = put_tokenizer_metadata(parts.metadata, dir, c);
    return parts;
}

void write_model_gguf(const std::string& path, const io::GgufMetadata& metadata, const std::vector<NamedTensor>& tensors) {
    // Checked before it gets its name: a file tern cannot load is never written.
    io::write_gguf(path, metadata, tensors, [&](const std::string& staged) {
        try {
            check_model_file(staged);
        } catch (const Error& e) {
            throw InputError(path, "not written: tern could not load the result: " + e.detail());
        }
    });
}

}  // namespace tern::llm
