#pragma once
// Tiny random-weight LMs for the runtime tests, written twice: as an HF
// checkpoint (config.json + safetensors, the layout torch code reads) and as a
// llama.cpp-style GGUF (q/k rows permuted for llama, Conv1D weights transposed
// for gpt2, Llama-3 rope as rope_freqs.weight). tests/ref/llm_ref.py reads the
// HF copy and computes logits and perplexity in plain fp32 torch; its output is
// cached under a content hash (inputs + script) so python runs once per change.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/tensor.h"
#include "io/gguf_writer.h"
#include "io/io_test_util.h"
#include "io/safetensors.h"
#include "llm/model_config.h"
#include "nn/torch_ref.h"  // write_bundle / read_bundle / content_hash

namespace tern::llm::test {

struct TinySpec {
    std::string name;
    Arch arch = Arch::llama;
    int64_t d = 64, layers = 2, heads = 4, kv_heads = 2, ff = 96, vocab = 101, ctx = 128;
    bool tied = false;
    DType dtype = DType::f32;  // 2-D weights (HF keeps every tensor in it)
    float theta = 10000.0f;
    bool llama3_rope = false;
    bool sharded = false;
    bool write_gguf = true;
    uint64_t seed = 1;
};

struct TinyModel {
    TinySpec spec;
    std::string hf_dir, gguf_path;
    std::vector<int32_t> tokens;      // compared prefill / decode sequence
    std::vector<int32_t> ppl_tokens;  // perplexity stream
    int64_t ppl_ctx = 16;
};

// Deterministic normal numbers (Box-Muller over a 64-bit LCG): identical on every platform.
class Rng {
public:
    explicit Rng(uint64_t seed) : s_(seed * 6364136223846793005ull + 1442695040888963407ull) {}
    double uniform() {
        s_ = s_ * 6364136223846793005ull + 1442695040888963407ull;
        return (static_cast<double>(s_ >> 11) + 0.5) / 9007199254740992.0;
    }
    float normal() {
        const double u1 = uniform(), u2 = uniform();
        return static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    }
    int32_t below(int32_t n) { return static_cast<int32_t>(uniform() * n); }

private:
    uint64_t s_;
};

// Values rounded through `dtype` (so HF, GGUF and torch all see the same numbers).
inline float round_to(float v, DType t) {
    if (t == DType::f16) return fp16_to_fp32(fp32_to_fp16(v));
    if (t == DType::bf16) return bf16_to_fp32(fp32_to_bf16(v));
    return v;
}

inline Tensor make_tensor(const Shape& shape, const std::vector<float>& v, DType t) {
    if (t == DType::f32) return Tensor::from_floats(shape, v);
    Tensor out = Tensor::empty(shape, t);
    uint16_t* p = out.data<uint16_t>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = t == DType::f16 ? fp32_to_fp16(v[i]) : fp32_to_bf16(v[i]);
    return out;
}

struct HfTensor {
    std::string name;
    Shape shape;
    std::vector<float> v;  // already rounded to the spec dtype
};

inline std::vector<HfTensor> make_hf_tensors(const TinySpec& s) {
    Rng rng(s.seed);
    std::vector<HfTensor> out;
    auto add = [&](const std::string& name, Shape shape, float stdv, float mean = 0) {
        std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
        for (auto& x : v) x = round_to(mean + stdv * rng.normal(), s.dtype);
        out.push_back({name, shape, v});
    };
    const int64_t d = s.d, hd = d / s.heads, qd = s.heads * hd, kvd = s.kv_heads * hd;
    const float wd = 1.0f / std::sqrt(float(d));
    if (s.arch == Arch::gpt2) {
        const std::string P = "transformer.";
        add(P + "wte.weight", {s.vocab, d}, 1.0f);
        add(P + "wpe.weight", {s.ctx, d}, 0.5f);
        for (int64_t l = 0; l < s.layers; ++l) {
            const std::string p = P + "h." + std::to_string(l) + ".";
            add(p + "ln_1.weight", {d}, 0.1f, 1.0f);
            add(p + "ln_1.bias", {d}, 0.1f);
            add(p + "attn.c_attn.weight", {d, 3 * d}, wd);  // Conv1D: (in, out)
            add(p + "attn.c_attn.bias", {3 * d}, 0.1f);
            add(p + "attn.c_proj.weight", {d, d}, wd);
            add(p + "attn.c_proj.bias", {d}, 0.1f);
            add(p + "ln_2.weight", {d}, 0.1f, 1.0f);
            add(p + "ln_2.bias", {d}, 0.1f);
            add(p + "mlp.c_fc.weight", {d, s.ff}, wd);
            add(p + "mlp.c_fc.bias", {s.ff}, 0.1f);
            add(p + "mlp.c_proj.weight", {s.ff, d}, 1.0f / std::sqrt(float(s.ff)));
            add(p + "mlp.c_proj.bias", {d}, 0.1f);
        }
        add(P + "ln_f.weight", {d}, 0.1f, 1.0f);
        add(P + "ln_f.bias", {d}, 0.1f);
        return out;
    }
    const bool bias = s.arch == Arch::qwen2;
    add("model.embed_tokens.weight", {s.vocab, d}, 1.0f);
    for (int64_t l = 0; l < s.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        add(p + "input_layernorm.weight", {d}, 0.1f, 1.0f);
        add(p + "self_attn.q_proj.weight", {qd, d}, wd);
        add(p + "self_attn.k_proj.weight", {kvd, d}, wd);
        add(p + "self_attn.v_proj.weight", {kvd, d}, wd);
        if (bias) {
            add(p + "self_attn.q_proj.bias", {qd}, 0.2f);
            add(p + "self_attn.k_proj.bias", {kvd}, 0.2f);
            add(p + "self_attn.v_proj.bias", {kvd}, 0.2f);
        }
        add(p + "self_attn.o_proj.weight", {d, qd}, 1.0f / std::sqrt(float(qd)));
        add(p + "post_attention_layernorm.weight", {d}, 0.1f, 1.0f);
        add(p + "mlp.gate_proj.weight", {s.ff, d}, wd);
        add(p + "mlp.up_proj.weight", {s.ff, d}, wd);
        add(p + "mlp.down_proj.weight", {d, s.ff}, 1.0f / std::sqrt(float(s.ff)));
    }
    add("model.norm.weight", {d}, 0.1f, 1.0f);
    if (!s.tied) add("lm_head.weight", {s.vocab, d}, wd);
    return out;
}

inline nlohmann::json hf_config(const TinySpec& s) {
    nlohmann::json j;
    if (s.arch == Arch::gpt2) {
        j = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"n_embd", s.d}, {"n_layer", s.layers},
             {"n_head", s.heads}, {"n_inner", s.ff}, {"n_positions", s.ctx}, {"vocab_size", s.vocab},
             {"layer_norm_epsilon", 1e-5}, {"activation_function", "gelu_new"}, {"eos_token_id", 0}};
        return j;
    }
    const bool qwen = s.arch == Arch::qwen2;
    j = {{"architectures", {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}}, {"model_type", qwen ? "qwen2" : "llama"},
         {"hidden_size", s.d}, {"num_hidden_layers", s.layers}, {"intermediate_size", s.ff},
         {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kv_heads}, {"max_position_embeddings", s.ctx},
         {"vocab_size", s.vocab}, {"rms_norm_eps", qwen ? 1e-6 : 1e-5}, {"rope_theta", s.theta},
         {"tie_word_embeddings", s.tied}, {"bos_token_id", 1}, {"eos_token_id", 2}};
    if (s.llama3_rope)
        j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 32}};
    return j;
}

// llama.cpp's convert permutes llama q/k rows so adjacent pairs are rotated:
// within each head, new row 2i+j = old row j*hd/2 + i.
inline std::vector<float> permute_rope_rows(const std::vector<float>& w, int64_t n_head, int64_t rows, int64_t cols) {
    const int64_t hd = rows / n_head, half = hd / 2;
    std::vector<float> out(w.size());
    for (int64_t h = 0; h < n_head; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::copy_n(w.begin() + (h * hd + j * half + i) * cols, cols, out.begin() + (h * hd + 2 * i + j) * cols);
    return out;
}

inline std::vector<float> transpose2d(const std::vector<float>& w, int64_t rows, int64_t cols) {
    std::vector<float> out(w.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) out[static_cast<size_t>(c * rows + r)] = w[static_cast<size_t>(r * cols + c)];
    return out;
}

inline void write_gguf_copy(const TinySpec& s, const std::vector<HfTensor>& hf, const std::string& path) {
    std::map<std::string, const HfTensor*> by;
    for (const auto& t : hf) by[t.name] = &t;
    std::vector<NamedTensor> out;
    // llama.cpp keeps 1-D tensors (norms, biases) in f32.
    auto put = [&](const std::string& name, const Shape& shape, const std::vector<float>& v) {
        out.push_back({name, make_tensor(shape, v, shape.size() == 1 ? DType::f32 : s.dtype)});
    };
    const std::string a = arch_name(s.arch);
    io::GgufMetadata md;
    auto u32 = [&](const std::string& k, int64_t v) { md.emplace_back(a + "." + k, io::GgufValue::of_u32(uint32_t(v))); };
    md.emplace_back("general.architecture", io::GgufValue::of_string(a));
    u32("context_length", s.ctx);
    u32("embedding_length", s.d);
    u32("block_count", s.layers);
    u32("feed_forward_length", s.ff);
    u32("attention.head_count", s.heads);
    const int64_t d = s.d, hd = d / s.heads;
    if (s.arch == Arch::gpt2) {
        md.emplace_back("gpt2.attention.layer_norm_epsilon", io::GgufValue::of_f32(1e-5f));
        const std::string P = "transformer.";
        put("token_embd.weight", {s.vocab, d}, by[P + "wte.weight"]->v);
        put("position_embd.weight", {s.ctx, d}, by[P + "wpe.weight"]->v);
        for (int64_t l = 0; l < s.layers; ++l) {
            const std::string p = P + "h." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
            put(b + "attn_norm.weight", {d}, by[p + "ln_1.weight"]->v);
            put(b + "attn_norm.bias", {d}, by[p + "ln_1.bias"]->v);
            put(b + "attn_qkv.weight", {3 * d, d}, transpose2d(by[p + "attn.c_attn.weight"]->v, d, 3 * d));
            put(b + "attn_qkv.bias", {3 * d}, by[p + "attn.c_attn.bias"]->v);
            put(b + "attn_output.weight", {d, d}, transpose2d(by[p + "attn.c_proj.weight"]->v, d, d));
            put(b + "attn_output.bias", {d}, by[p + "attn.c_proj.bias"]->v);
            put(b + "ffn_norm.weight", {d}, by[p + "ln_2.weight"]->v);
            put(b + "ffn_norm.bias", {d}, by[p + "ln_2.bias"]->v);
            put(b + "ffn_up.weight", {s.ff, d}, transpose2d(by[p + "mlp.c_fc.weight"]->v, d, s.ff));
            put(b + "ffn_up.bias", {s.ff}, by[p + "mlp.c_fc.bias"]->v);
            put(b + "ffn_down.weight", {d, s.ff}, transpose2d(by[p + "mlp.c_proj.weight"]->v, s.ff, d));
            put(b + "ffn_down.bias", {d}, by[p + "mlp.c_proj.bias"]->v);
        }
        put("output_norm.weight", {d}, by[P + "ln_f.weight"]->v);
        put("output_norm.bias", {d}, by[P + "ln_f.bias"]->v);
    } else {
        const bool qwen = s.arch == Arch::qwen2;
        u32("attention.head_count_kv", s.kv_heads);
        u32("rope.dimension_count", hd);
        md.emplace_back(a + ".attention.layer_norm_rms_epsilon", io::GgufValue::of_f32(qwen ? 1e-6f : 1e-5f));
        md.emplace_back(a + ".rope.freq_base", io::GgufValue::of_f32(s.theta));
        std::vector<std::string> vocab;
        for (int64_t i = 0; i < s.vocab; ++i) vocab.push_back("<t" + std::to_string(i) + ">");
        md.emplace_back("tokenizer.ggml.tokens", io::GgufValue::of_strings(vocab));
        md.emplace_back("tokenizer.ggml.eos_token_id", io::GgufValue::of_u32(2));
        put("token_embd.weight", {s.vocab, d}, by["model.embed_tokens.weight"]->v);
        const int64_t qd = s.heads * hd, kvd = s.kv_heads * hd;
        for (int64_t l = 0; l < s.layers; ++l) {
            const std::string p = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
            put(b + "attn_norm.weight", {d}, by[p + "input_layernorm.weight"]->v);
            const auto& q = by[p + "self_attn.q_proj.weight"]->v;
            const auto& k = by[p + "self_attn.k_proj.weight"]->v;
            put(b + "attn_q.weight", {qd, d}, qwen ? q : permute_rope_rows(q, s.heads, qd, d));
            put(b + "attn_k.weight", {kvd, d}, qwen ? k : permute_rope_rows(k, s.kv_heads, kvd, d));
            put(b + "attn_v.weight", {kvd, d}, by[p + "self_attn.v_proj.weight"]->v);
            if (qwen) {
                put(b + "attn_q.bias", {qd}, by[p + "self_attn.q_proj.bias"]->v);
                put(b + "attn_k.bias", {kvd}, by[p + "self_attn.k_proj.bias"]->v);
                put(b + "attn_v.bias", {kvd}, by[p + "self_attn.v_proj.bias"]->v);
            }
            put(b + "attn_output.weight", {d, qd}, by[p + "self_attn.o_proj.weight"]->v);
            put(b + "ffn_norm.weight", {d}, by[p + "post_attention_layernorm.weight"]->v);
            put(b + "ffn_gate.weight", {s.ff, d}, by[p + "mlp.gate_proj.weight"]->v);
            put(b + "ffn_up.weight", {s.ff, d}, by[p + "mlp.up_proj.weight"]->v);
            put(b + "ffn_down.weight", {d, s.ff}, by[p + "mlp.down_proj.weight"]->v);
        }
        put("output_norm.weight", {d}, by["model.norm.weight"]->v);
        if (!s.tied) put("output.weight", {s.vocab, d}, by["lm_head.weight"]->v);
        if (s.llama3_rope) {
            // llama.cpp's convert: per-frequency divisors of the base frequencies.
            std::vector<float> factors;
            const double factor = 8, lo = 1, hi = 4, old = 32;
            for (int64_t i = 0; i < hd / 2; ++i) {
                const double f = std::pow(double(s.theta), -2.0 * double(i) / double(hd));
                const double wl = 2 * 3.14159265358979323846 / f;
                if (wl < old / hi) factors.push_back(1.0f);
                else if (wl > old / lo) factors.push_back(float(factor));
                else {
                    const double smooth = (old / wl - lo) / (hi - lo);
                    factors.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
                }
            }
            out.push_back({"rope_freqs.weight", Tensor::from_floats({hd / 2}, factors)});
        }
    }
    io::write_gguf(path, md, out);
}

inline void write_hf_copy(const TinySpec& s, const std::vector<HfTensor>& hf, const std::string& dir) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/config.json") << hf_config(s).dump(2);
    std::vector<NamedTensor> ts;
    for (const auto& t : hf) ts.push_back({t.name, make_tensor(t.shape, t.v, s.dtype)});
    if (!s.sharded) {
        io::write_safetensors(dir + "/model.safetensors", ts);
        return;
    }
    const size_t half = ts.size() / 2;
    std::vector<NamedTensor> a(ts.begin(), ts.begin() + static_cast<std::ptrdiff_t>(half)), b(ts.begin() + static_cast<std::ptrdiff_t>(half), ts.end());
    io::write_safetensors(dir + "/model-00001-of-00002.safetensors", a);
    io::write_safetensors(dir + "/model-00002-of-00002.safetensors", b);
    nlohmann::json idx;
    idx["metadata"] = {{"total_size", 0}};
    for (const auto& t : a) idx["weight_map"][t.name] = "model-00001-of-00002.safetensors";
    for (const auto& t : b) idx["weight_map"][t.name] = "model-00002-of-00002.safetensors";
    std::ofstream(dir + "/model.safetensors.index.json") << idx.dump(2);
}

inline std::vector<TinySpec> tiny_specs() {
    std::vector<TinySpec> v;
    TinySpec llama;  // GQA 4:2, untied head, Llama-3 rope scaling
    llama.name = "llama_gqa";
    llama.llama3_rope = true;
    llama.seed = 11;
    v.push_back(llama);
    TinySpec qwen;  // MQA, qkv bias, tied, big theta, sharded HF checkpoint
    qwen.name = "qwen2_bias";
    qwen.arch = Arch::qwen2;
    qwen.d = 48, qwen.heads = 3, qwen.kv_heads = 1, qwen.ff = 80, qwen.vocab = 89;
    qwen.tied = true, qwen.theta = 1e6f, qwen.sharded = true, qwen.seed = 22;
    v.push_back(qwen);
    TinySpec gpt2;
    gpt2.name = "gpt2";
    gpt2.arch = Arch::gpt2;
    gpt2.d = 64, gpt2.heads = 4, gpt2.kv_heads = 4, gpt2.ff = 256, gpt2.vocab = 97, gpt2.ctx = 64, gpt2.seed = 33;
    v.push_back(gpt2);
    TinySpec llama16 = llama;  // same shapes, f16 weights
    llama16.name = "llama_f16";
    llama16.dtype = DType::f16;
    llama16.seed = 44;
    v.push_back(llama16);
    TinySpec qwen_bf16 = qwen;  // bf16 weights: gemm_bf16 path
    qwen_bf16.name = "qwen2_bf16";
    qwen_bf16.dtype = DType::bf16;
    qwen_bf16.sharded = false, qwen_bf16.seed = 55;
    v.push_back(qwen_bf16);
    return v;
}

struct TinyModels {
    testio::TempDir dir;
    std::vector<TinyModel> models;
    nn::test::TorchRef ref;
    const TinyModel& get(const std::string& name) const {
        for (const auto& m : models)
            if (m.spec.name == name) return m;
        throw std::runtime_error("no tiny model " + name);
    }
    const Tensor* ref_tensor(const std::string& c, const std::string& n) const { return ref.find(c, n); }
};

// Built once per process: the files, then torch's answers (cached by content).
inline const TinyModels& tiny_models() {
    static const std::unique_ptr<TinyModels> tm = [] {
        auto t = std::make_unique<TinyModels>();
        nlohmann::json manifest, key;
        manifest["cases"] = nlohmann::json::array();
        std::vector<std::string> hashed = {std::string(TERN_SOURCE_DIR) + "/tests/ref/llm_ref.py",
                                           std::string(TERN_SOURCE_DIR) + "/tests/ref/tensor_bundle.py"};
        for (const TinySpec& s : tiny_specs()) {
            TinyModel m;
            m.spec = s;
            m.hf_dir = t->dir.file(s.name + "_hf");
            const auto hf = make_hf_tensors(s);
            write_hf_copy(s, hf, m.hf_dir);
            if (s.write_gguf) {
                m.gguf_path = t->dir.file(s.name + ".gguf");
                write_gguf_copy(s, hf, m.gguf_path);
            }
            Rng rng(s.seed + 1000);
            for (int i = 0; i < 19; ++i) m.tokens.push_back(rng.below(int32_t(s.vocab)));
            for (int i = 0; i < 40; ++i) m.ppl_tokens.push_back(rng.below(int32_t(s.vocab)));
            nlohmann::json c = {{"name", s.name}, {"tokens", m.tokens}, {"ppl_tokens", m.ppl_tokens}, {"ppl_ctx", m.ppl_ctx}};
            key["cases"].push_back(c);
            c["dir"] = m.hf_dir;
            manifest["cases"].push_back(c);
            for (const auto& e : std::filesystem::directory_iterator(m.hf_dir)) hashed.push_back(e.path().string());
            t->models.push_back(std::move(m));
        }
        std::sort(hashed.begin() + 1, hashed.end());
        const std::string manifest_path = t->dir.file("manifest.json"), key_path = t->dir.file("key.json");
        std::ofstream(manifest_path) << manifest.dump();
        std::ofstream(key_path) << key.dump();
        hashed.push_back(key_path);
        const auto cache_dir = std::filesystem::temp_directory_path() / "tern_llm_ref_cache";
        const auto cached = cache_dir / (nn::test::content_hash(hashed) + ".bin");
        if (!std::filesystem::exists(cached)) {
            t->ref.reference = nn::test::torch_reference();
            if (!t->ref.reference.usable()) {
                return t;
            }
            const std::string out = t->dir.file("ref_out.bin");
            const std::string cmd = "/usr/bin/python3 " + std::string(TERN_SOURCE_DIR) + "/tests/ref/llm_ref.py " +
                                    manifest_path + " " + out;
            if (std::system(cmd.c_str()) != 0) throw std::runtime_error("llm_ref.py failed: " + cmd);
            std::filesystem::create_directories(cache_dir);
            const auto tmp = cache_dir / ("tmp_" + std::to_string(::getpid()));
            std::filesystem::copy_file(out, tmp, std::filesystem::copy_options::overwrite_existing);
            std::filesystem::rename(tmp, cached);
        }
        t->ref.outputs = nn::test::read_bundle(cached.string());
        return t;
    }();
    return *tm;
}

// max |a - b| / max |b|: error relative to the reference's scale.
inline double rel_err(const float* a, const float* b, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; ++i) {
        num = std::max(num, std::fabs(double(a[i]) - double(b[i])));
        den = std::max(den, std::fabs(double(b[i])));
    }
    return den > 0 ? num / den : num;
}

}  // namespace tern::llm::test
