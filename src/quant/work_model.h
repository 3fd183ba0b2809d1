#pragma once
// What every calibrated method (quant/calibrated_methods.h and the ones after
// it) starts from: the model's tensors with float copies of those the method
// changes, the recipe's skipped roles, and one calibration pass over the float
// model.

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "formats/tensor_codec.h"
#include "io/tensor_names.h"
#include "quant/calibration.h"
#include "quant/quantize_model.h"

namespace tern::quant {

// The model's tensors with float copies of the ones a method changes.
class WorkModel {
public:
    explicit WorkModel(const TensorModel& m) : in_(m), tensors_(m.tensors) {}

    // The weight (".weight", rank 2) with this role and layer, or -1.
    int find(io::TensorRole role, int32_t layer) const {
        for (size_t i = 0; i < tensors_.size(); ++i) {
            const NamedTensor& t = tensors_[i];
            if (!t.name.ends_with(".weight")) continue;
            const io::RoleOf r = io::tensor_role_of(t.name);
            if (r.role == role && r.layer == layer) return static_cast<int>(i);
        }
        return -1;
    }
    // The head's weight: "output", or the token embedding when they are tied.
    int head() const {
        const int out = find(io::TensorRole::output, -1);
        return out >= 0 ? out : find(io::TensorRole::token_embd, -1);
    }
    bool tied_head() const { return find(io::TensorRole::output, -1) < 0; }

    std::vector<float>& floats(int i) {
        auto it = f32_.find(i);
        if (it == f32_.end())
            it = f32_.emplace(i, tensor_to_f32(tensors_[static_cast<size_t>(i)].tensor, tensors_[static_cast<size_t>(i)].name)).first;
        return it->second;
    }
    int64_t rows(int i) const { return tensors_[static_cast<size_t>(i)].tensor.shape()[0]; }
    int64_t cols(int i) const {
        const Shape& s = tensors_[static_cast<size_t>(i)].tensor.shape();
        return s.size() > 1 ? s[1] : 1;
    }
    const std::string& name(int i) const { return tensors_[static_cast<size_t>(i)].name; }
    const Tensor& original(int i) const { return in_.tensors[static_cast<size_t>(i)].tensor; }

    // The model with every changed tensor as f32 (norms stay f32; weights go
    // on to round to nearest or GPTQ).
    TensorModel changed_model() const {
        TensorModel out;
        out.gguf_metadata = in_.gguf_metadata;
        out.safetensors_metadata = in_.safetensors_metadata;
        out.is_llm = in_.is_llm;
        out.tensors = tensors_;
        for (const auto& [i, v] : f32_)
            out.tensors[static_cast<size_t>(i)].tensor = Tensor::from_floats(out.tensors[static_cast<size_t>(i)].tensor.shape(), v);
        return out;
    }
    // Moves per-input-channel scales s into the weights without changing the
    // float model's function: the columns of every Linear in `linears` (which
    // share one input) times s, and their input's producer divided by s —
    // a norm's weight vector when prev_is_norm, else the rows of the Linear
    // `prev`. AWQ's and SmoothQuant's fold.
    void fold_input_scales(int prev, bool prev_is_norm, std::span<const int> linears, std::span<const float> s) {
        const int64_t cols = static_cast<int64_t>(s.size());
        for (int i : linears) {
            std::vector<float>& w = floats(i);
            for (int64_t r = 0; r < rows(i); ++r)
                for (int64_t c = 0; c < cols; ++c) w[static_cast<size_t>(r * cols + c)] *= s[static_cast<size_t>(c)];
        }
        std::vector<float>& p = floats(prev);
        if (prev_is_norm) {
            for (int64_t c = 0; c < cols; ++c) p[static_cast<size_t>(c)] /= s[static_cast<size_t>(c)];
        } else {
            const int64_t pc = this->cols(prev);
            for (int64_t r = 0; r < cols; ++r)
                for (int64_t c = 0; c < pc; ++c) p[static_cast<size_t>(r * pc + c)] /= s[static_cast<size_t>(r)];
        }
    }
    int32_t n_layers() const {
        int32_t n = 0;
        for (const auto& t : tensors_) n = std::max(n, io::tensor_role_of(t.name).layer + 1);
        return n;
    }

private:
    const TensorModel& in_;
    std::vector<NamedTensor> tensors_;
    std::map<int, std::vector<float>> f32_;
};

// The Linears of a llama block that share one input, and what produces that
// input: a norm (its weight vector can absorb per-channel scales) or a Linear
// (its rows can). Where AWQ and SmoothQuant fold their scales.
struct InputGroup {
    io::TensorRole prev;
    std::vector<io::TensorRole> linears;
};
inline const std::vector<InputGroup>& llama_input_groups() {
    using R = io::TensorRole;
    static const std::vector<InputGroup> groups = {{R::attn_norm, {R::attn_q, R::attn_k, R::attn_v}},
                                                   {R::attn_v, {R::attn_output}},
                                                   {R::ffn_norm, {R::ffn_gate, R::ffn_up}},
                                                   {R::ffn_up, {R::ffn_down}}};
    return groups;
}

// True when the recipe's --skip-roles keeps tensors of this role as they are.
bool recipe_skips(const QuantRecipe& r, io::TensorRole role);

// One calibration pass (mean |x| and the Hessian of every Linear's input) for
// recipe.method (the statistics it needs), with a progress bar. InputError for a model tern does not run
// as a language model or one with fused q/k/v; UsageError without --calib.
LinearStatistics calibrate_linears(const TensorModel& model, const QuantRecipe& recipe,
                                   ops::StatSet stats = {.meanabs = true, .hessian = true});
// The same for any calibrated method (prune/ too): options.model is the file
// to run; errors carry `where`.
LinearStatistics calibrate_linears(const TensorModel& model, const std::string& method, const CalibrateOptions& options,
                                   ops::StatSet stats, const char* where);

}  // namespace tern::quant
