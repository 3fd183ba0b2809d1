#pragma once
// Pruning a language model's Linears (the attention and FFN weights of every
// block; not the embedding and not the output head, as in the Wanda and
// SparseGPT papers): a table of methods (magnitude, wanda, sparsegpt), a
// recipe (method, sparsity or N:M pattern, calibration) in, the model with
// zeros in its weights and a per-tensor report out.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/calibration_stats.h"
#include "prune/sparsity_mask.h"
#include "quant/calibration.h"
#include "quant/quantize_model.h"

namespace tern::prune {

struct PruneRecipe {
    std::string method = "magnitude";
    double sparsity = 0.5;             // unstructured, when pattern is empty; [0, 1)
    std::optional<NmPattern> pattern;  // N:M: keep n of every m input columns
    // Calibrated methods (wanda, sparsegpt): calibration.model is the model file
    // to run, calibration.calib the text (--calib), as `tern quantize` takes them.
    quant::CalibrateOptions calibration;
    // Calibrated methods: block by block, each block's statistics taken with the
    // blocks before it already pruned (the papers' order; one calibration pass
    // per block). false: every block's statistics from the dense model in one
    // pass, which measured as good or better on tinylm (bench/RESULTS_prune.md).
    bool sequential = false;
    double damp = 0.01;   // sparsegpt: fraction of mean(diag H) added to the diagonal
    int64_t block = 128;  // sparsegpt: columns per lazy-update block
};

struct PruneReportRow {
    std::string name;
    std::string dtype;  // stored type, in and out
    int64_t rows = 0, cols = 0;
    int64_t zeros = 0;  // exact zeros in the written tensor
    std::string note;
    double sparsity() const { return rows * cols > 0 ? double(zeros) / double(rows * cols) : 0.0; }
};

struct PrunedModel {
    quant::TensorModel model;
    std::vector<PruneReportRow> report;  // one row per pruned Linear
    int64_t linear_weights = 0, linear_zeros = 0;  // over the pruned Linears
    int64_t model_params = 0;                       // every tensor's elements
    int64_t calib_tokens = 0;                       // 0 for magnitude
    int64_t calib_passes = 0;                       // calibration passes over the windows (sequential: one per block)
    double linear_sparsity() const { return linear_weights > 0 ? double(linear_zeros) / double(linear_weights) : 0.0; }
};

struct PruneMethod {
    const char* name;
    const char* summary;
    ops::StatSet stats;  // what calibration collects; none for magnitude
    bool calibrated() const { return stats != ops::StatSet{}; }
};
const std::vector<PruneMethod>& llm_prune_methods();
// The named method; UsageError naming --method and listing them otherwise.
const PruneMethod& llm_prune_method(const std::string& name);

// UsageError (exit 2) for a sparsity outside [0, 1), an unknown method or a
// calibrated method without calibration text.
void check_prune_recipe(const PruneRecipe& recipe);

// Prunes every block Linear of an LLM (model.is_llm) stored as f32, f16 or
// bf16 and re-encodes it in its own type. InputError for a model without
// prunable Linears, a quantized Linear, or an N:M pattern whose M does not
// divide a row (naming the tensor).
PrunedModel prune_llm(const quant::TensorModel& model, const PruneRecipe& recipe);

}  // namespace tern::prune
