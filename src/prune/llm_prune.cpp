#include "prune/llm_prune.h"

#include <cmath>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "formats/format.h"
#include "formats/tensor_codec.h"
#include "io/tensor_names.h"
#include "llm/model_loader.h"
#include "prune/sparsegpt.h"
#include "quant/work_model.h"

namespace tern::prune {
namespace {

using io::TensorRole;
constexpr const char* kLlmPruneWhere = "prune";

struct Layer {
    int tensor;
    io::RoleOf role;
};

// The block Linears the papers prune, in model order.
std::vector<Layer> prunable_linears(const quant::WorkModel& wm) {
    std::vector<Layer> out;
    for (int32_t layer = 0; layer < wm.n_layers(); ++layer)
        for (TensorRole r : {TensorRole::attn_q, TensorRole::attn_k, TensorRole::attn_v, TensorRole::attn_output,
                             TensorRole::ffn_gate, TensorRole::ffn_up, TensorRole::ffn_down})
            if (const int i = wm.find(r, layer); i >= 0) out.push_back({i, {r, layer}});
    return out;
}

bool is_float_storage(DType t) { return t == DType::f32 || t == DType::f16 || t == DType::bf16; }

// Magnitude and Wanda: a score per weight, then the mask; weights are only zeroed.
std::vector<uint8_t> score_mask(const std::vector<float>& scores, int64_t rows, int64_t cols, const PruneRecipe& r,
                                MaskScope scope, const std::string& name) {
    return r.pattern ? nm_mask(scores, rows, cols, *r.pattern, name) : unstructured_mask(scores, rows, cols, r.sparsity, scope);
}

std::vector<float> prune_layer(const std::vector<float>& w, int64_t rows, int64_t cols, const ops::LinearInputStats* st,
                               const PruneRecipe& r, const std::string& name, std::string& note) {
    if (r.method == "sparsegpt") {
        const SparseGptOptions o{.sparsity = r.sparsity, .pattern = r.pattern, .damp = r.damp, .block = r.block};
        SparseGptResult g = sparsegpt_prune(w, rows, cols, st->hessian_sum(), o, name);
        if (g.damp_used > r.damp) note = "dampened " + std::to_string(g.damp_used).substr(0, 6);
        if (g.dead_inputs > 0) note += (note.empty() ? "" : ", ") + std::to_string(g.dead_inputs) + " dead inputs";
        return std::move(g.weights);
    }
    std::vector<float> scores(w.size());
    MaskScope scope = MaskScope::per_matrix;  // magnitude: layer-wise, as the Wanda paper's baseline
    if (r.method == "wanda") {
        // |W_ij| × ||X_j||_2, compared within each output row.
        const std::vector<float> msq = st->mean_sq();
        for (int64_t row = 0; row < rows; ++row)
            for (int64_t c = 0; c < cols; ++c) {
                const size_t at = static_cast<size_t>(row * cols + c);
                scores[at] = std::fabs(w[at]) * std::sqrt(msq[static_cast<size_t>(c)]);
            }
        scope = MaskScope::per_row;
    } else {
        for (size_t i = 0; i < w.size(); ++i) scores[i] = std::fabs(w[i]);
    }
    const std::vector<uint8_t> mask = score_mask(scores, rows, cols, r, scope, name);
    std::vector<float> out = w;
    for (size_t i = 0; i < out.size(); ++i)
        if (mask[i]) out[i] = 0.0f;
    return out;
}

Tensor encode_like(const Tensor& original, const std::vector<float>& v, const std::string& name) {
    Tensor f = Tensor::from_floats(original.shape(), v);
    if (original.dtype() == DType::f32) return f;
    return quantize_tensor_rtn(f, *format_for_dtype(original.dtype()), name);
}

}  // namespace

const std::vector<PruneMethod>& llm_prune_methods() {
    static const std::vector<PruneMethod> methods = {
        {.name = "magnitude", .summary = "smallest |W| of each matrix", .stats = {}},
        {.name = "wanda", .summary = "smallest |W_ij| x ||X_j||_2 of each output row (calibrated; Sun et al.)",
         .stats = {.meansq = true}},
        {.name = "sparsegpt", .summary = "OBS reconstruction from calibration Hessians (Frantar & Alistarh)",
         .stats = {.hessian = true}},
    };
    return methods;
}

const PruneMethod& llm_prune_method(const std::string& name) {
    std::string known;
    for (const PruneMethod& m : llm_prune_methods()) {
        if (name == m.name) return m;
        known += (known.empty() ? "" : ", ") + std::string(m.name);
    }
    throw UsageError("--method", "unknown method '" + name + "' (available: " + known + ")");
}

void check_prune_recipe(const PruneRecipe& r) {
    const PruneMethod& m = llm_prune_method(r.method);
    if (!r.pattern && !(r.sparsity >= 0 && r.sparsity < 1))
        throw UsageError("--sparsity", "must be in [0, 1), not " + std::to_string(r.sparsity));
    if (r.pattern && (r.pattern->n <= 0 || r.pattern->n >= r.pattern->m))
        throw UsageError("--pattern", "N:M needs 0 < N < M");
    if (m.calibrated() && r.calibration.calib.empty())
        throw UsageError("--calib", "method '" + r.method + "' needs calibration text, e.g. --calib text:train");
}

PrunedModel prune_llm(const quant::TensorModel& model, const PruneRecipe& recipe) {
    check_prune_recipe(recipe);
    const PruneMethod& method = llm_prune_method(recipe.method);
    quant::WorkModel wm(model);
    const std::vector<Layer> layers = prunable_linears(wm);
    if (layers.empty())
        throw InputError(kLlmPruneWhere, "the model has no block Linears to prune (attn_q/k/v/output, ffn_gate/up/down)");
    // Refuse before the calibration minutes: stored types and N:M fit.
    for (const Layer& l : layers) {
        const Tensor& t = wm.original(l.tensor);
        if (!is_float_storage(t.dtype()))
            throw InputError(wm.name(l.tensor), "stored as " + std::string(dtype_name(t.dtype())) +
                                                    "; tern prune keeps each weight's type and prunes f32, f16 or bf16 "
                                                    "weights: prune the float model, then quantize it");
        if (recipe.pattern) check_nm_fits(wm.cols(l.tensor), *recipe.pattern, wm.name(l.tensor));
    }
    PrunedModel out;
    out.model = model;
    // Prunes one Linear with its calibration statistics (null for magnitude)
    // into out.model; returns the tensor as written.
    auto prune_one = [&](const Layer& l, const ops::LinearInputStats* st) -> const Tensor& {
        const std::string& name = wm.name(l.tensor);
        const int64_t rows = wm.rows(l.tensor), cols = wm.cols(l.tensor);
        PruneReportRow row{.name = name, .dtype = std::string(dtype_name(wm.original(l.tensor).dtype())), .rows = rows,
                           .cols = cols, .zeros = 0, .note = {}};
        const std::vector<float> pruned = prune_layer(wm.floats(l.tensor), rows, cols, st, recipe, name, row.note);
        Tensor t = encode_like(wm.original(l.tensor), pruned, name);
        // Count what the file holds: zeros as stored, after re-encoding.
        for (float v : tensor_to_f32(t, name)) row.zeros += v == 0.0f;
        out.linear_weights += rows * cols;
        out.linear_zeros += row.zeros;
        out.report.push_back(std::move(row));
        Tensor& slot = out.model.tensors[static_cast<size_t>(l.tensor)].tensor;
        slot = std::move(t);
        return slot;
    };
    auto stats_of = [&](const quant::LinearStatistics& s, const Layer& l) {
        const ops::LinearInputStats* st = s.collector->find(l.role);
        if (!st) throw InputError(wm.name(l.tensor), "calibration saw no inputs of this Linear");
        return st;
    };
    if (method.calibrated() && recipe.sequential) {
        // Block by block: calibrate block b on the model whose blocks < b already
        // hold their pruned weights, prune it, swap the pruned weights in.
        if (!model.is_llm)
            throw InputError(kLlmPruneWhere, "method '" + recipe.method + "' calibrates a language model; this input is not one tern runs");
        if (recipe.calibration.model.empty()) throw UsageError("--calib", "method '" + recipe.method + "' needs calibration data");
        quant::CalibrationRun run(recipe.calibration);
        if (run.model().config.arch == llm::Arch::gpt2)
            throw InputError(kLlmPruneWhere, "method '" + recipe.method + "' supports llama-family models (separate q, k, v); this one fuses them");
        const int32_t blocks = wm.n_layers();
        Progress bar(recipe.method + " (sequential)", blocks * run.n_windows());
        for (int32_t b = 0; b < blocks; ++b) {
            const quant::LinearStatistics stats = run.observe(
                method.stats, [b](io::RoleOf r) { return r.layer == b; },
                [&](int64_t w) { bar.update(b * run.n_windows() + w + 1, "block " + std::to_string(b)); });
            out.calib_tokens = stats.n_tokens;
            ++out.calib_passes;
            for (const Layer& l : layers) {
                if (l.role.layer != b) continue;
                const Tensor& t = prune_one(l, stats_of(stats, l));
                std::unique_ptr<ops::Linear>* slot = llm::block_linear_slot(run.model(), l.role);
                if (!slot) throw InputError(wm.name(l.tensor), "the loaded model holds no separate Linear for this weight");
                const ops::Linear& old = **slot;
                *slot = std::make_unique<ops::Linear>(t, old.bias(), wm.name(l.tensor), old.activation(), old.float_math());
            }
        }
        bar.finish();
    } else {
        std::optional<quant::LinearStatistics> stats;
        if (method.calibrated()) {
            stats = quant::calibrate_linears(model, recipe.method, recipe.calibration, method.stats, kLlmPruneWhere);
            out.calib_tokens = stats->n_tokens;
            out.calib_passes = 1;
        }
        Progress bar(recipe.method, static_cast<int64_t>(layers.size()));
        int64_t done = 0;
        for (const Layer& l : layers) {
            prune_one(l, stats ? stats_of(*stats, l) : nullptr);
            bar.update(++done, wm.name(l.tensor));
        }
        bar.finish();
    }
    for (const NamedTensor& t : out.model.tensors) out.model_params += t.tensor.numel();
    return out;
}

}  // namespace tern::prune
