#include "llm/synthetic_model.h"

#include <random>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/format.h"
#include "io/gguf_writer.h"
#include "formats/tensor_codec.h"

namespace tern::llm {

const std::vector<SyntheticLlamaShape>& synthetic_shapes() {
    static const std::vector<SyntheticLlamaShape> shapes = {
        {"tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048},
        {"llama-tiny", 256, 4, 8, 4, 768, 4096, 1024},
    };
    return shapes;
}

const SyntheticLlamaShape& synthetic_shape(const std::string& name) {
    for (const auto& s : synthetic_shapes())
        if (s.name == name) return s;
    std::string known;
    for (const auto& s : synthetic_shapes()) known += (known.empty() ? "" : ", ") + s.name;
    throw UsageError("shape", "unknown model shape '" + name + "' (known: " + known + ")");
}

namespace {

// Seeded N(0, 0.02) weights; each row block has its own generator so filling
// is parallel yet independent of the thread count.
Tensor random_weight(const Shape& shape, uint64_t seed) {
    Tensor t = Tensor::empty(shape, DType::f32);
    float* p = t.data<float>();
    const int64_t n = t.numel();
    constexpr int64_t kChunk = 1 << 16;
    parallel_for((n + kChunk - 1) / kChunk, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
            std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(c));
            std::normal_distribution<float> d(0.0f, 0.02f);
            for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) p[i] = d(rng);
        }
    });
    return t;
}

io::GgufMetadata llama_metadata(const SyntheticLlamaShape& s, DType weights) {
    const std::string a = "llama.";
    io::GgufMetadata md = {
        {"general.architecture", io::GgufValue::of_string("llama")},
        {"general.name", io::GgufValue::of_string("tern synthetic " + s.name)},
        {a + "context_length", io::GgufValue::of_u32(static_cast<uint32_t>(s.ctx))},
        {a + "embedding_length", io::GgufValue::of_u32(static_cast<uint32_t>(s.dim))},
        {a + "block_count", io::GgufValue::of_u32(static_cast<uint32_t>(s.layers))},
        {a + "feed_forward_length", io::GgufValue::of_u32(static_cast<uint32_t>(s.ffn))},
        {a + "attention.head_count", io::GgufValue::of_u32(static_cast<uint32_t>(s.heads))},
        {a + "attention.head_count_kv", io::GgufValue::of_u32(static_cast<uint32_t>(s.kv_heads))},
        {a + "attention.layer_norm_rms_epsilon", io::GgufValue::of_f32(1e-5f)},
        {a + "rope.freq_base", io::GgufValue::of_f32(10000.0f)},
        {a + "rope.dimension_count", io::GgufValue::of_u32(static_cast<uint32_t>(s.dim / s.heads))},
    };
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        tokens.push_back(buf);
        scores.push_back(0);
        types.push_back(6);  // byte
    }
    for (int64_t i = static_cast<int64_t>(tokens.size()); i < s.vocab; ++i) {
        tokens.push_back("\xe2\x96\x81t" + std::to_string(i));  // "▁t<i>"
        scores.push_back(-static_cast<float>(i));
        types.push_back(1);
    }
    md.emplace_back("tokenizer.ggml.model", io::GgufValue::of_string("llama"));
    md.emplace_back("tokenizer.ggml.tokens", io::GgufValue::of_strings(tokens));
    md.emplace_back("tokenizer.ggml.scores", io::GgufValue::of_array(io::GgufType::f32, scores));
    md.emplace_back("tokenizer.ggml.token_type", io::GgufValue::of_array(io::GgufType::i32, types));
    md.emplace_back("tokenizer.ggml.bos_token_id", io::GgufValue::of_u32(1));
    md.emplace_back("tokenizer.ggml.eos_token_id", io::GgufValue::of_u32(2));
    md.emplace_back("tokenizer.ggml.unknown_token_id", io::GgufValue::of_u32(0));
    (void)weights;
    return md;
}

}  // namespace

uint64_t write_synthetic_llama(const std::string& path, const SyntheticLlamaShape& s, DType weights, uint64_t seed) {
    const FormatDescriptor* fmt = format_for_dtype(weights);
    if (!fmt) throw UsageError("synth", "no storage format for dtype " + std::string(dtype_name(weights)));
    const int64_t hd = s.dim / s.heads;
    std::vector<NamedTensor> tensors;
    uint64_t params = 0;
    uint64_t next_seed = seed;
    auto add = [&](const std::string& name, const Shape& shape, bool is_norm) {
        Tensor t;
        if (is_norm) {
            t = Tensor::from_floats(shape, std::vector<float>(static_cast<size_t>(shape_numel(shape)), 1.0f));
        } else {
            t = random_weight(shape, ++next_seed);
            if (weights != DType::f32) t = quantize_tensor_rtn(t, *fmt, name);
        }
        params += static_cast<uint64_t>(shape_numel(shape));
        tensors.push_back({name, t});
    };
    Progress progress("synth", s.layers + 2);
    add("token_embd.weight", {s.vocab, s.dim}, false);
    for (int64_t l = 0; l < s.layers; ++l) {
        const std::string b = "blk." + std::to_string(l) + ".";
        add(b + "attn_norm.weight", {s.dim}, true);
        add(b + "attn_q.weight", {s.heads * hd, s.dim}, false);
        add(b + "attn_k.weight", {s.kv_heads * hd, s.dim}, false);
        add(b + "attn_v.weight", {s.kv_heads * hd, s.dim}, false);
        add(b + "attn_output.weight", {s.dim, s.heads * hd}, false);
        add(b + "ffn_norm.weight", {s.dim}, true);
        add(b + "ffn_gate.weight", {s.ffn, s.dim}, false);
        add(b + "ffn_up.weight", {s.ffn, s.dim}, false);
        add(b + "ffn_down.weight", {s.dim, s.ffn}, false);
        progress.update(l + 1);
    }
    add("output_norm.weight", {s.dim}, true);
    add("output.weight", {s.vocab, s.dim}, false);
    io::write_gguf(path, llama_metadata(s, weights), tensors);
    progress.update(s.layers + 2);
    return params;
}

}  // namespace tern::llm
