#pragma once
// Mixed-precision graph PTQ: a weight width per Conv / Gemm / MatMul, chosen
// from measured per-layer sensitivity under a weight-size budget (issue 24).
//   1. Sensitivity: for each layer and each width b in the choices, that
//      layer's weights alone are rounded to b-bit per-channel codes (the rest
//      stays fp32, activations fp32) and the validation cross-entropy is
//      measured; the table holds its increase over fp32. Measured, not the
//      Hessian-trace proxy: these models are small enough to run.
//   2. Choice: a multiple-choice knapsack (dynamic programme over packed weight
//      bits) minimizes the summed loss increases with the packed weight codes
//      within the budget. Summing assumes the layers' errors add up; the
//      measured accuracy of the result is what the report shows.
//   3. The chosen widths go to quant/graph_ptq.h (activations as it calibrates
//      them), so the file stays a QDQ model tern runs integer-only and ONNX
//      Runtime loads (codes of every width in int8 containers).
//   4. Pareto report: the same choice at budgets of whole average bits from the
//      narrowest to the widest choice, and uniform widths, each built as a QDQ
//      model and run integer-only on the validation images; points no other
//      point beats in both size and accuracy form the front.
// Size here is the packed weight codes only, ceil(sum(weights * bits) / 8)
// bytes: scales and biases are the same whatever the widths.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "nn/data/image_dataset.h"
#include "quant/graph_ptq.h"

namespace tern::quant {

struct MixedPrecisionOptions {
    GraphPtqOptions ptq;                    // observer, activation grid, calibration batch, where; widths are chosen here
    std::vector<int> bit_choices{8, 6, 4, 2};
    // The budget, one of: average bits per weight (4: the size of uniform 4-bit
    // weights), or packed weight bytes.
    double avg_bits = 0;
    int64_t budget_bytes = 0;
    bool pareto = true;                     // build and measure the Pareto points (off: the chosen model only)
    int64_t batch = 250;                    // validation images per executor run
};

struct LayerSensitivity {
    QuantizableLayer layer;
    std::vector<double> loss_increase;  // per bit choice: validation loss with this layer alone quantized, minus fp32's
    std::vector<double> accuracy;       // per bit choice: validation accuracy then
};

struct ValidationScore {
    double loss = 0, accuracy = 0;  // mean cross-entropy, fraction correct
};

struct BitAssignment {
    std::string label;                  // "mixed" or "uniform"
    std::vector<int> bits;              // per layer, in the sensitivity table's order
    int64_t bytes = 0;                  // packed weight codes
    double predicted_loss_increase = 0; // summed from the sensitivity table
    ValidationScore measured;           // the QDQ model, integer-only, on the validation images
    bool pareto = false;                // on the size / validation-accuracy front
};

struct MixedPrecisionReport {
    std::vector<int> bit_choices;
    int64_t validation_images = 0;
    ValidationScore fp32;
    std::vector<LayerSensitivity> layers;
    int64_t budget_bytes = 0, min_bytes = 0, max_bytes = 0;  // the budget, all-narrowest and all-widest sizes
    int64_t total_weights = 0;
    BitAssignment chosen;
    std::vector<BitAssignment> points;  // mixed and uniform, by size (empty without options.pareto)
};

struct MixedPrecisionResult {
    GraphPtqResult ptq;  // the chosen model
    MixedPrecisionReport report;
};

// Packed bytes of the weight codes: ceil(sum_l weights_l * bits_l / 8).
int64_t packed_weight_bytes(const std::vector<QuantizableLayer>& layers, const std::vector<int>& bits);

// Mean cross-entropy and accuracy of a classifier graph (one image input,
// logits first output) on `data`. InputError naming `where` for a wrong output.
ValidationScore score_classifier(const graph::Graph& g, const data::ImageDataset& data, int64_t batch, const std::string& where);

// The sensitivity table of a prepared float graph (prepare_float_graph).
std::vector<LayerSensitivity> measure_sensitivity(const graph::Graph& prepared, const data::ImageDataset& validation,
                                                  const std::vector<int>& bit_choices, int64_t batch,
                                                  const std::string& where, ValidationScore* fp32 = nullptr);

// Widths (one of bit_choices per layer) with the least summed loss increase whose
// packed size is at most budget_bytes; nullopt when even the narrowest widths do not fit.
std::optional<std::vector<int>> choose_bits(const std::vector<LayerSensitivity>& table, const std::vector<int>& bit_choices,
                                            int64_t budget_bytes);

// The budget in packed weight bytes, after the checks quantize_graph_mixed
// makes before any work (the same errors), so a caller can refuse a bad budget
// before loading calibration and validation images.
int64_t mixed_budget_bytes(const graph::Graph& fp32, const MixedPrecisionOptions& options);

// UsageError for bad bit choices (not 8 / 6 / 4 / 2, repeated, none) or a
// budget that is not one positive, finite number; InputError (naming
// options.ptq.where) for a budget below the all-narrowest size, an empty
// validation set, and everything quantize_graph_static refuses.
MixedPrecisionResult quantize_graph_mixed(const graph::Graph& fp32, const Tensor& calib, const data::ImageDataset& validation,
                                          const MixedPrecisionOptions& options);

// Validation accuracy against packed weight size (KB) of the report's points: mixed and uniform.
void write_pareto_png(const std::string& path, const MixedPrecisionReport& report);

}  // namespace tern::quant
