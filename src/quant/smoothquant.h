#pragma once
// SmoothQuant (2211.10438) into tern's w8a8 storage: activation outliers are
// migrated into the weights by a per-input-channel factor
//     s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)
// (max|W_j| over the rows of every Linear that reads X), the preceding RMSNorm
// weight (or the preceding Linear's rows) divided by s and the weight columns
// multiplied by s, so the float model computes the same function; then every
// weight is rounded to int8 per output channel and runs int8 x int8 with int8
// activations (per-token dynamic scales, or a static per-tensor scale from the
// same calibration pass: --act-scale static).
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ops/calibration_stats.h"
#include "quant/quantize_model.h"
#include "quant/work_model.h"

namespace tern::quant {

// s_j for one shared input: act_absmax (K), weights the (rows, K) Linears that read it.
// Channels with no activation or no weight keep s_j = 1.
std::vector<float> smoothquant_scales(std::span<const float> act_absmax, std::span<const std::span<const float>> weights,
                                      int64_t cols, double alpha);

// Smooths every layer of wm in place (attn_norm -> q,k,v; attn_v -> attn_output
// when v has one row per o input; ffn_norm -> gate,up; ffn_up -> ffn_down).
// Returns the factor applied to each Linear's input channels, keyed by the
// weight's tensor index (Linears not smoothed are absent).
std::map<int, std::vector<float>> smooth_model(WorkModel& wm, const ops::CalibrationCollector& stats,
                                               const QuantRecipe& recipe, double alpha, std::vector<std::string>& notes);

// The smoothquant method (--format w8a8 only).
QuantizedModel run_smoothquant(const TensorModel& model, const QuantRecipe& recipe);
// rtn into w8a8 with static per-tensor activation scales (calibrated, no smoothing).
QuantizedModel run_w8a8_static_rtn(const TensorModel& model, const QuantRecipe& recipe);

}  // namespace tern::quant
