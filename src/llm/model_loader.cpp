// load_model: container detection, HF -> llama.cpp names (io/tensor_names.h), checks,
// and weight preparation.
#include "llm/model_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/format.h"
#include "formats/nonfinite_scan.h"
#include "io/gguf_reader.h"
#include "io/model_container.h"
#include "io/model_info.h"
#include "io/tensor_names.h"
#include "llm/model_check.h"
#include "formats/tensor_codec.h"

namespace tern::llm {
namespace fs = std::filesystem;

void Model::embed(int32_t token, float* out) const {
    const int64_t d = config.n_embd;
    if (token < 0 || token >= config.n_vocab)
        throw InputError(path, format("token id %d is outside the vocabulary [0, %lld)", token, (long long)config.n_vocab));
    const DType t = token_embd.dtype();
    const size_t row_bytes = dtype_bytes_for(t, static_cast<uint64_t>(d));
    const uint8_t* row = token_embd.data<uint8_t>() + static_cast<size_t>(token) * row_bytes;
    if (t == DType::f32) {
        std::memcpy(out, row, row_bytes);
        return;
    }
    format_for_dtype(t)->dequantize(row, out, d);  // checked to exist at load
}

namespace {

// A tensor under its canonical (llama.cpp GGUF) name; HF GPT-2 Conv1D weights
// are stored (in, out) and are transposed when fetched.
struct SourceTensor {
    Tensor tensor;
    bool transpose = false;
    std::string file_name;  // the name in the file, for messages
    bool scanned = false;   // checked for NaN / Inf already
};
using Sources = std::map<std::string, SourceTensor>;

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The config.json that belongs to an HF checkpoint path (file, index or folder).
std::string hf_config_path(const std::string& path) {
    if (is_dir(path)) return (fs::path(path) / "config.json").string();
    return (fs::path(path).parent_path() / "config.json").string();
}

class Builder {
public:
    // check_only: presence, shapes and dtypes only; no weight is prepared.
    Builder(Model& m, Sources& src, bool allow_nonfinite, bool check_only)
        : m_(m), c_(m.config), src_(src), allow_nonfinite_(allow_nonfinite), check_only_(check_only) {}

    // The tensor `name` with exactly `shape`; null when absent and optional.
    const Tensor* get(const std::string& name, const Shape& shape, bool required = true) {
        auto it = src_.find(name);
        if (it == src_.end()) {
            if (!required) return nullptr;
            throw InputError(m_.path, "tensor '" + name + "' is missing (expected shape " + shape_to_string(shape) + ")");
        }
        SourceTensor& s = it->second;
        const std::string& shown = s.file_name;
        const DType t = s.tensor.dtype();
        if (t != DType::f32 && !format_for_dtype(t))
            throw InputError(m_.path, "tensor '" + shown + "' has dtype " + std::string(dtype_name(t)) +
                                          ", which is not a weight type");
        if (!s.scanned && !allow_nonfinite_)
            require_finite_tensor(s.tensor, m_.path, shown, "; --allow-nonfinite loads it anyway");
        s.scanned = true;
        if (s.transpose) {
            if (s.tensor.rank() != 2 || dtype_info(t).is_block_quantized)
                throw InputError(m_.path, "tensor '" + shown + "' must be a 2-D float Conv1D weight");
            if (check_only_) {
                const Shape stored = {shape.size() == 2 ? shape[1] : 0, shape.empty() ? 0 : shape[0]};
                if (s.tensor.shape() != stored)
                    throw InputError(m_.path, "tensor '" + shown + "' has shape " + shape_to_string(s.tensor.shape()) +
                                                  ", expected the Conv1D layout " + shape_to_string(stored));
                return &s.tensor;
            }
            s.tensor = s.tensor.transpose(0, 1).contiguous();
            s.transpose = false;
        }
        if (s.tensor.shape() != shape)
            throw InputError(m_.path, "tensor '" + shown + "' has shape " + shape_to_string(s.tensor.shape()) +
                                          ", expected " + shape_to_string(shape));
        m_.n_params += static_cast<uint64_t>(s.tensor.numel());
        m_.weight_bytes += s.tensor.nbytes();
        return &s.tensor;
    }
    std::vector<float> vec(const std::string& name, int64_t n, bool required = true) {
        const Tensor* t = get(name, {n}, required);
        return t ? tensor_to_f32(*t, name) : std::vector<float>{};
    }
    // A Linear's own refusal (a damaged sparse24_q8 or w8a8 tensor) names the tensor; add the file.
    template <class F>
    std::unique_ptr<ops::Linear> in_file(F&& make) {
        try {
            return make();
        } catch (const InputError& e) {
            throw InputError(m_.path, e.where() + ": " + e.detail());
        }
    }
    std::unique_ptr<ops::Linear> linear(const std::string& base, int64_t out, int64_t in, bool bias,
                                         Activation act = Activation::none) {
        const Tensor* w = get(base + ".weight", {out, in});
        std::vector<float> b = bias ? vec(base + ".bias", out) : std::vector<float>{};
        if (check_only_) return nullptr;
        auto lw = in_file([&] { return std::make_unique<ops::Linear>(*w, std::move(b), base + ".weight", act, m_.float_math); });
        w->release_file_pages();  // every path copied it into its own layout
        return lw;
    }

    void build() {
        const int64_t d = c_.n_embd, V = c_.n_vocab;
        const bool gpt2 = c_.arch == Arch::gpt2;
        m_.token_embd = *get("token_embd.weight", {V, d});
        if (m_.token_embd.dtype() != DType::f32 && !format_for_dtype(m_.token_embd.dtype()))
            throw InputError(m_.path, "token_embd.weight: dtype cannot be decoded");
        if (gpt2) {
            const Tensor* pe = get("position_embd.weight", {c_.n_ctx_train, d});
            m_.position_embd = tensor_to_f32(*pe, "position_embd.weight");
        }
        m_.layers.resize(static_cast<size_t>(c_.n_layer));
        for (int64_t l = 0; l < c_.n_layer; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            LayerWeights& L = m_.layers[static_cast<size_t>(l)];
            L.attn_norm_w = vec(p + "attn_norm.weight", d);
            L.ffn_norm_w = vec(p + "ffn_norm.weight", d);
            if (gpt2) {
                L.attn_norm_b = vec(p + "attn_norm.bias", d);
                L.ffn_norm_b = vec(p + "ffn_norm.bias", d);
                build_gpt2_qkv(p, L);
                L.wo = linear(p + "attn_output", d, d, true);
                L.ffn_up = linear(p + "ffn_up", c_.n_ff, d, true, Activation::gelu_tanh);
                L.ffn_down = linear(p + "ffn_down", d, c_.n_ff, true);
            } else {
                L.wq = linear(p + "attn_q", c_.q_dim(), d, c_.attn_qkv_bias);
                L.wk = linear(p + "attn_k", c_.kv_dim(), d, c_.attn_qkv_bias);
                L.wv = linear(p + "attn_v", c_.kv_dim(), d, c_.attn_qkv_bias);
                L.wo = linear(p + "attn_output", d, c_.q_dim(), c_.attn_out_bias);
                L.ffn_gate = linear(p + "ffn_gate", c_.n_ff, d, false);
                L.ffn_up = linear(p + "ffn_up", c_.n_ff, d, false);
                L.ffn_down = linear(p + "ffn_down", d, c_.n_ff, false);
            }
        }
        m_.output_norm_w = vec("output_norm.weight", d);
        if (gpt2) m_.output_norm_b = vec("output_norm.bias", d);
        const Tensor* out = c_.tied_embeddings ? nullptr : get("output.weight", {V, d}, /*required=*/false);
        if (!out) {
            // Absent output head = tied to the embedding (llama.cpp's rule for GGUF too).
            m_.config.tied_embeddings = true;
            out = &m_.token_embd;
        }
        if (c_.uses_rope()) m_.rope_freq_factors = vec("rope_freqs.weight", c_.rope_dim / 2, false);
        if (check_only_) return;
        m_.output = in_file([&] {
            return std::make_unique<ops::Linear>(*out, std::vector<float>{},
                                                 out == &m_.token_embd ? "token_embd.weight" : "output.weight",
                                                 Activation::none, m_.float_math);
        });
        // Packed now; a tied embedding's rows fault back in when a token needs one.
        out->release_file_pages();
        if (!m_.layers.empty()) m_.weight_dtype = std::string(dtype_name(m_.layers[0].wo->source_dtype()));
    }

private:
    // gpt2 keeps q, k, v fused as attn_qkv (3d, d); split into three weights
    // (row slices: whole rows, so this works for block dtypes too).
    void build_gpt2_qkv(const std::string& p, LayerWeights& L) {
        const int64_t d = c_.n_embd;
        const Tensor* w = get(p + "attn_qkv.weight", {3 * d, d});
        const std::vector<float> b = vec(p + "attn_qkv.bias", 3 * d);
        if (check_only_) return;
        const Tensor wc = w->contiguous();
        const size_t row_bytes = dtype_bytes_for(wc.dtype(), static_cast<uint64_t>(d));
        auto part = [&](int i) {
            Tensor s = Tensor::empty({d, d}, wc.dtype());
            std::memcpy(s.raw_data(), wc.raw_data() + static_cast<size_t>(i * d) * row_bytes, static_cast<size_t>(d) * row_bytes);
            std::vector<float> bi(b.begin() + i * d, b.begin() + (i + 1) * d);
            return std::make_unique<ops::Linear>(s, std::move(bi), p + "attn_qkv.weight", Activation::none,
                                                  m_.float_math);
        };
        L.wq = part(0);
        L.wk = part(1);
        L.wv = part(2);
    }

    Model& m_;
    const ModelConfig& c_;
    Sources& src_;
    bool allow_nonfinite_;
    bool check_only_;
};

// The declared layer count must match the blocks the file holds: more blocks
// than declared would silently run fewer layers, fewer would allocate layers
// for a count no tensor backs (a crafted block_count of 10^9) before failing.
void check_layer_count(const Sources& src, int64_t n_layer, const std::string& path) {
    int64_t held = 0;  // 1 + the highest block index present
    for (const auto& [name, s] : src) {
        if (name.rfind("blk.", 0) != 0) continue;
        const size_t dot = name.find('.', 4);
        const std::string digits = name.substr(4, dot == std::string::npos ? std::string::npos : dot - 4);
        if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
        const int64_t layer = std::stoll(digits);
        if (layer >= n_layer)
            throw InputError(path, format("tensor '%s' belongs to layer %lld but the model declares a layer count "
                                          "of %lld (block_count / num_hidden_layers)",
                                          s.file_name.c_str(), (long long)layer, (long long)n_layer));
        held = std::max(held, layer + 1);
    }
    if (held < n_layer)
        throw InputError(path, format("the model declares %lld layers (block_count / num_hidden_layers) but holds "
                                      "tensors for %lld",
                                      (long long)n_layer, (long long)held));
}

// The model's config and its tensors under canonical names, built (or only checked).
std::unique_ptr<Model> read_model(const std::string& path, const LoadOptions& options, bool check_only) {
    auto m = std::make_unique<Model>();
    m->path = path;
    m->float_math = options.float_math;
    Sources src;
    bool is_gguf = false;
    if (!is_dir(path)) {
        // By content first: an empty or foreign file is reported as such, not as a checkpoint without config.json.
        const auto f = MappedFile::open(path);
        is_gguf = io::detect_model_container({f->data(), f->size()}, path) == io::ModelContainer::gguf;
    }
    if (is_gguf) {
        io::GgufModel g = io::read_gguf(path);
        m->container = "gguf";
        m->config = config_from_gguf(g.info.metadata, path);
        for (auto& t : g.tensors) src[t.name] = SourceTensor{t.tensor, false, t.name};
        // llama.cpp takes the vocabulary size from the tokenizer; without one, from the embedding.
        if (m->config.n_vocab == 0) {
            auto it = src.find("token_embd.weight");
            if (it == src.end()) throw InputError(path, "tensor 'token_embd.weight' is missing");
            m->config.n_vocab = it->second.tensor.rank() == 2 ? it->second.tensor.dim(0) : 0;
        }
    } else {
        m->container = "safetensors";
        m->config = config_from_hf_file(hf_config_path(path));
        for (auto& t : load_tensors(path)) {
            auto canon = io::tensor_name_from_hf(t.name);
            if (!canon) continue;  // buffers such as attn.masked_bias, rotary inv_freq
            src[canon->gguf_name] = SourceTensor{t.tensor, canon->transpose, t.name};
        }
    }
    io::naming_model_file(path, [&] {
        validate_config(m->config, path);
        check_layer_count(src, m->config.n_layer, path);
        Builder(*m, src, options.allow_nonfinite, check_only).build();
    });
    return m;
}

}  // namespace

std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options) {
    return read_model(path, options, /*check_only=*/false);
}

void check_model_file(const std::string& path) { read_model(path, {}, /*check_only=*/true); }

uint64_t Model::decode_weight_bytes() const {
    uint64_t bytes = output ? output->source_bytes() : 0;
    for (const LayerWeights& L : layers)
        for (const auto* w : {L.wq.get(), L.wk.get(), L.wv.get(), L.wo.get(), L.ffn_gate.get(), L.ffn_up.get(),
                              L.ffn_down.get()})
            if (w) bytes += w->source_bytes();
    return bytes;
}

}  // namespace tern::llm

namespace tern::llm {

std::unique_ptr<ops::Linear>* block_linear_slot(Model& model, io::RoleOf role) {
    if (role.layer < 0 || role.layer >= static_cast<int32_t>(model.layers.size())) return nullptr;
    LayerWeights& L = model.layers[static_cast<size_t>(role.layer)];
    using io::TensorRole;
    const bool fused_qkv = model.config.arch == Arch::gpt2;
    std::unique_ptr<ops::Linear>* slot = nullptr;
    switch (role.role) {
        case TensorRole::attn_q: slot = fused_qkv ? nullptr : &L.wq; break;
        case TensorRole::attn_k: slot = fused_qkv ? nullptr : &L.wk; break;
        case TensorRole::attn_v: slot = fused_qkv ? nullptr : &L.wv; break;
        case TensorRole::attn_output: slot = &L.wo; break;
        case TensorRole::ffn_gate: slot = &L.ffn_gate; break;
        case TensorRole::ffn_up: slot = &L.ffn_up; break;
        case TensorRole::ffn_down: slot = &L.ffn_down; break;
        default: break;
    }
    return slot && *slot ? slot : nullptr;
}

}  // namespace tern::llm
