#include "quant/rotate.h"

#include <algorithm>
#include <random>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/tensor_codec.h"
#include "io/tensor_names.h"
#include "kernels/hadamard/hadamard.h"
#include "llm/model_config.h"
#include "quant/calibrated_methods.h"
#include "quant/work_model.h"

namespace tern::quant {
namespace {

using io::TensorRole;
// "tensor": naming_model_file (io/model_container.h) puts the input file in front, nothing else.
constexpr const char* kRotateWhere = "tensor";
constexpr const char* kOnlineHadamardMarker = "tern.rotation.ffn_down_hadamard";

// fn over every row of a (rows, cols) f32 matrix, in double.
template <class F>
void for_each_row(std::vector<float>& w, int64_t rows, int64_t cols, F&& fn) {
    default_pool().parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t rb, int64_t re) {
        std::vector<double> v(static_cast<size_t>(cols));
        for (int64_t r = rb; r < re; ++r) {
            float* row = w.data() + r * cols;
            std::copy(row, row + cols, v.begin());
            fn(r, std::span<double>(v));
            for (int64_t c = 0; c < cols; ++c) row[c] = static_cast<float>(v[static_cast<size_t>(c)]);
        }
    });
}

template <class T>
std::vector<T> transposed(const std::vector<T>& w, int64_t rows, int64_t cols) {
    std::vector<T> t(w.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) t[static_cast<size_t>(c * rows + r)] = w[static_cast<size_t>(r * cols + c)];
    return t;
}

// fn over every column (as a vector): M <- fn applied to columns.
template <class F>
void for_each_column(std::vector<float>& w, int64_t rows, int64_t cols, F&& fn) {
    std::vector<float> t = transposed(w, rows, cols);
    for_each_row(t, cols, rows, fn);
    w = transposed(t, cols, rows);
}

// h <- T^T h T for a symmetric (K, K) h, where fn maps a row v to v T: the
// rows give h T, its transpose is T^T h, whose rows give T^T h T.
template <class F>
void two_sided(std::vector<double>& h, int64_t K, F&& fn) {
    for (int pass = 0; pass < 2; ++pass) {
        for (int64_t r = 0; r < K; ++r) fn(std::span<double>(h.data() + r * K, static_cast<size_t>(K)));
        h = transposed(h, K, K);
    }
}

void set_metadata(io::GgufMetadata& md, const std::string& key, io::GgufValue v) {
    for (auto& [k, val] : md)
        if (k == key) {
            val = std::move(v);
            return;
        }
    md.emplace_back(key, std::move(v));
}

// The key of Rotation::folded for a Linear reading a norm's output; nullopt for the others.
std::optional<std::pair<TensorRole, int32_t>> folded_key(io::RoleOf r) {
    switch (r.role) {
        case TensorRole::attn_q: case TensorRole::attn_k: case TensorRole::attn_v: return std::pair{TensorRole::attn_q, r.layer};
        case TensorRole::ffn_gate: case TensorRole::ffn_up: return std::pair{TensorRole::ffn_gate, r.layer};
        case TensorRole::output: return std::pair{TensorRole::output, -1};
        default: return std::nullopt;
    }
}

class Rotator {
public:
    Rotator(const TensorModel& m, const RotateOptions& o) : in_(m), out_{m, {}} {
        if (!m.is_llm) throw InputError(kRotateWhere, "rotate: not a language model tern runs");
        const io::GgufValue* arch = io::find_metadata(m.gguf_metadata, "general.architecture");
        const std::string a = arch && arch->type == io::GgufType::string ? arch->s : "?";
        if (a != "llama" && a != "qwen2")
            throw InputError(kRotateWhere, "a rotation needs a llama-family model (RMSNorm: llama, qwen2); this one is '" + a + "'");
        const llm::ModelConfig c = llm::config_from_gguf(m.gguf_metadata, kRotateWhere);
        if (o.online && c.ffn_down_hadamard > 0)
            throw InputError(kRotateWhere, std::string("already has an online Hadamard before ffn_down (") +
                                         llm::kFfnDownHadamardKey + "); rotate it again without --rotate-online");
        Rotation& r = out_.rotation;
        r.d = c.n_embd;
        r.block = largest_power_of_two_factor(r.d);
        r.ffn = c.n_ff;
        if (o.online) {
            r.ffn_block = largest_power_of_two_factor(r.ffn);
            if (r.ffn_block < 2)
                throw InputError(kRotateWhere, "the feed-forward width " + std::to_string(r.ffn) +
                                             " is odd: no Hadamard block fits it (--rotate-online)");
        }
        // The raw bits of mt19937_64 (specified by the standard), not a distribution (implementation-defined).
        std::mt19937_64 rng(o.seed);
        r.signs.resize(static_cast<size_t>(r.d));
        for (double& s : r.signs) s = (rng() >> 63) ? -1.0 : 1.0;
        for (size_t i = 0; i < m.tensors.size(); ++i) index_[m.tensors[i].name] = i;
    }

    RotatedModel run(const RotateOptions& o) {
        const Rotation& r = out_.rotation;
        auto rotate_rows = [&](std::vector<float>& w, int64_t rows, int64_t cols) {
            for_each_row(w, rows, cols, [&](int64_t, std::span<double> v) { r.rotate_row(v); });
        };
        // token_embd first: a tied head is built from the original values below.
        const std::vector<float> embd = floats("token_embd.weight", 2);
        {
            std::vector<float> e = embd;
            rotate_rows(e, rows_of("token_embd.weight"), r.d);
            put("token_embd.weight", e);
        }
        const int64_t layers = llm::config_from_gguf(in_.gguf_metadata, kRotateWhere).n_layer;
        for (int64_t l = 0; l < layers; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            fold_readers(p + "attn_norm.weight", {p + "attn_q.weight", p + "attn_k.weight", p + "attn_v.weight"},
                         {TensorRole::attn_q, static_cast<int32_t>(l)});
            rotate_writer(p + "attn_output");
            fold_readers(p + "ffn_norm.weight", {p + "ffn_gate.weight", p + "ffn_up.weight"},
                         {TensorRole::ffn_gate, static_cast<int32_t>(l)});
            rotate_writer(p + "ffn_down");
            if (r.ffn_block > 0) {
                const std::string down = p + "ffn_down.weight";
                std::vector<float> w = floats(down, 2);
                for_each_row(w, r.d, r.ffn, [&](int64_t, std::span<double> v) { fwht_blocks(v.data(), r.ffn, r.ffn_block); });
                put(down, w);
            }
        }
        // The head: output.weight, or a new one from the tied embedding (its original values).
        const bool tied = !index_.count("output.weight");
        if (tied) {
            out_.model.tensors.push_back({"output.weight", Tensor::from_floats({rows_of("token_embd.weight"), r.d}, embd)});
            index_["output.weight"] = out_.model.tensors.size() - 1;
            tied_from_ = in_.tensors[index_.at("token_embd.weight")].tensor.dtype();
        }
        fold_readers("output_norm.weight", {"output.weight"}, {TensorRole::output, -1});

        io::GgufMetadata& md = out_.model.gguf_metadata;
        set_metadata(md, "tern.rotation.seed", io::GgufValue::of_u64(o.seed));
        set_metadata(md, "tern.rotation.block", io::GgufValue::of_u32(static_cast<uint32_t>(r.block)));
        if (r.ffn_block > 0) {
            set_metadata(md, llm::kFfnDownHadamardKey, io::GgufValue::of_u32(static_cast<uint32_t>(r.ffn_block)));
            // llama.cpp ignores the key and would run the file wrongly (measured: perplexity 115 -> 20636);
            // a tensor it does not expect makes it refuse the file ("wrong number of tensors") instead.
            const std::vector<float> block = {static_cast<float>(r.ffn_block)};
            out_.model.tensors.push_back({kOnlineHadamardMarker, Tensor::from_floats({1}, block)});
        }
        return std::move(out_);
    }

    // The dtype output.weight had before: the embedding's when it was tied.
    DType source_dtype(const std::string& name) const {
        if (name == "output.weight" && tied_from_) return *tied_from_;
        return in_.tensors[index_.at(name)].tensor.dtype();
    }

private:
    const NamedTensor& tensor(const std::string& name, int64_t rank) const {
        auto it = index_.find(name);
        if (it == index_.end()) throw InputError(name, "is missing (the rotation changes it)");
        const NamedTensor& t = out_.model.tensors[it->second];
        if (t.tensor.rank() != rank) throw InputError(name, "has rank " + std::to_string(t.tensor.rank()) + ", expected " + std::to_string(rank));
        return t;
    }
    int64_t rows_of(const std::string& name) const { return tensor(name, 2).tensor.shape()[0]; }
    int64_t cols_of(const std::string& name) const { return tensor(name, 2).tensor.shape()[1]; }
    std::vector<float> floats(const std::string& name, int64_t rank) const {
        const NamedTensor& t = tensor(name, rank);
        return tensor_to_f32(t.tensor, name);
    }
    void put(const std::string& name, const std::vector<float>& v) {
        NamedTensor& t = out_.model.tensors[index_.at(name)];
        t.tensor = Tensor::from_floats(t.tensor.shape(), v);
    }

    // norm g folded into each reader's columns (W diag(g)), then W <- W Q; g <- 1.
    void fold_readers(const std::string& norm, const std::vector<std::string>& readers, std::pair<TensorRole, int32_t> key) {
        const Rotation& r = out_.rotation;
        const std::vector<float> g = floats(norm, 1);
        if (static_cast<int64_t>(g.size()) != r.d)
            throw InputError(norm, "has " + std::to_string(g.size()) + " elements, expected " +
                                         std::to_string(r.d));
        for (const std::string& name : readers) {
            if (cols_of(name) != r.d)
                throw InputError(name, "has " + std::to_string(cols_of(name)) + " columns, expected " +
                                             std::to_string(r.d));
            std::vector<float> w = floats(name, 2);
            for_each_row(w, rows_of(name), r.d, [&](int64_t, std::span<double> v) {
                for (int64_t c = 0; c < r.d; ++c) v[static_cast<size_t>(c)] *= g[static_cast<size_t>(c)];
                r.rotate_row(v);
            });
            put(name, w);
        }
        put(norm, std::vector<float>(g.size(), 1.0f));
        out_.rotation.folded[key] = std::vector<double>(g.begin(), g.end());
    }

    // A Linear writing the residual: W <- Q^T W (each column rotated), bias b <- b Q.
    void rotate_writer(const std::string& base) {
        const Rotation& r = out_.rotation;
        const std::string name = base + ".weight";
        if (rows_of(name) != r.d)
            throw InputError(name, "has " + std::to_string(rows_of(name)) + " rows, expected " +
                                         std::to_string(r.d));
        std::vector<float> w = floats(name, 2);
        for_each_column(w, r.d, cols_of(name), [&](int64_t, std::span<double> v) { r.rotate_row(v); });
        put(name, w);
        if (index_.count(base + ".bias")) {
            std::vector<float> b = floats(base + ".bias", 1);
            for_each_row(b, 1, r.d, [&](int64_t, std::span<double> v) { r.rotate_row(v); });
            put(base + ".bias", b);
        }
    }

    const TensorModel& in_;
    RotatedModel out_;
    std::map<std::string, size_t> index_;
    std::optional<DType> tied_from_;
};

// Tensors of --skip-roles go back to the dtype they came in (rotated, so
// re-encoded by round to nearest when that dtype is a block type).
void restore_skipped(TensorModel& m, const Rotator& rot, const QuantRecipe& recipe, std::vector<std::string>& notes) {
    for (NamedTensor& t : m.tensors) {
        if (t.tensor.rank() != 2 || !recipe_skips(recipe, io::tensor_role_of(t.name).role)) continue;
        const DType want = rot.source_dtype(t.name);
        if (t.tensor.dtype() == want) continue;
        const FormatDescriptor* f = format_for_dtype(want);
        if (!f) throw InputError(t.name, "has dtype " + std::string(dtype_name(want)) + ", which cannot be re-encoded");
        t.tensor = quantize_tensor_rtn(t.tensor, *f, t.name);
        notes.push_back(t.name + ": rotated, kept in " + std::string(dtype_name(want)) + " (--skip-roles)");
    }
}

std::string rotation_note(const Rotation& r, const RotateOptions& o) {
    std::string s = "rotation: seed " + std::to_string(o.seed) + ", Hadamard blocks of " + std::to_string(r.block) +
                    " over the residual width " + std::to_string(r.d);
    if (r.ffn_block > 0)
        s += "; online Hadamard blocks of " + std::to_string(r.ffn_block) + " before ffn_down (tern-only: llama.cpp "
             "ignores " + llm::kFfnDownHadamardKey + ")";
    return s;
}

}  // namespace

void Rotation::rotate_row(std::span<double> v) const {
    fwht_blocks(v.data(), d, block);
    for (int64_t i = 0; i < d; ++i) v[static_cast<size_t>(i)] *= signs[static_cast<size_t>(i)];
}

RotatedModel rotate_model(const TensorModel& model, const RotateOptions& options) {
    return Rotator(model, options).run(options);
}

std::vector<double> rotated_hessian(const Rotation& r, io::RoleOf role, std::vector<double> h) {
    if (const auto key = folded_key(role)) {
        auto it = r.folded.find(*key);
        if (it == r.folded.end()) return h;
        const std::vector<double>& g = it->second;
        const int64_t K = r.d;
        if (static_cast<int64_t>(h.size()) != K * K) throw InputError(kRotateWhere, "a Hessian of the wrong size");
        for (int64_t i = 0; i < K; ++i)
            if (g[static_cast<size_t>(i)] == 0.0)
                throw InputError(kRotateWhere, "a folded norm weight (" + std::string(io::tensor_role_name(role.role)) +
                                             "'s input) is 0 at channel " + std::to_string(i) +
                                             ": the rotated input's statistics cannot be derived; use --method rotate");
        for (int64_t i = 0; i < K; ++i)
            for (int64_t j = 0; j < K; ++j) h[static_cast<size_t>(i * K + j)] /= g[static_cast<size_t>(i)] * g[static_cast<size_t>(j)];
        two_sided(h, K, [&](std::span<double> v) { r.rotate_row(v); });
    } else if (role.role == TensorRole::ffn_down && r.ffn_block > 0) {
        two_sided(h, r.ffn, [&](std::span<double> v) { fwht_blocks(v.data(), r.ffn, r.ffn_block); });
    }
    return h;
}

QuantizedModel run_rotate(const TensorModel& model, const QuantRecipe& recipe) {
    Rotator rot(model, recipe.rotate);
    RotatedModel rm = rot.run(recipe.rotate);
    std::vector<std::string> notes = {rotation_note(rm.rotation, recipe.rotate)};
    restore_skipped(rm.model, rot, recipe, notes);
    QuantRecipe rest = recipe;
    rest.method = "rtn";
    QuantizedModel out = run_method_rtn(rm.model, rest, {});
    out.notes = std::move(notes);
    return out;
}

QuantizedModel run_rotate_gptq(const TensorModel& model, const QuantRecipe& recipe) {
    require_gptq_format(recipe);
    Rotator rot(model, recipe.rotate);
    RotatedModel rm = rot.run(recipe.rotate);  // refusals before the calibration pass
    std::vector<std::string> notes = {rotation_note(rm.rotation, recipe.rotate)};
    restore_skipped(rm.model, rot, recipe, notes);
    // Statistics of the original model, transformed to the rotated inputs (no second pass).
    const LinearStatistics stats = calibrate_linears(model, recipe, {.hessian = true});
    WorkModel wm(rm.model);
    const HessianOf rotated = [&](int tensor, const ops::LinearInputStats& st) {
        return rotated_hessian(rm.rotation, io::tensor_role_of(wm.name(tensor)), st.hessian_sum());
    };
    return gptq_then_rtn(wm, *stats.collector, rotated, recipe, std::move(notes));
}

}  // namespace tern::quant
