#pragma once
// The calibrated methods of the method table (quant/quantize_model.h):
//   awq       activation-aware scales folded into the preceding norm / Linear,
//             clipping searched per group, then round to nearest into the
//             target format (any format, llama.cpp's mixes included);
//   gptq      GPTQ on every Linear with calibration statistics, into tern's
//             int4g128 / int3g128 / int2g128 storage types or the GGUF block
//             types (q4_0, q4_1, q2_k … q6_k, scales fitted per GGUF block, and
//             llama.cpp's mixes: tensors the mix puts in another type are
//             rounded to nearest); a tied head goes to its own output.weight;
//   awq+gptq  AWQ's scales (no clipping), then GPTQ on the scaled weights with
//             the Hessians of the scaled inputs.
// Statistics (mean |x| and X^T X per Linear) come from one calibration pass of
// the float model (quant/calibration.h); tensors without statistics (token
// embedding of an untied model, norms) are quantized by round to nearest or
// kept, as rtn would. AWQ works on llama-family models (RMSNorm before q/k/v
// and gate/up); q/k are not clipped, and attn_output is scaled through attn_v
// only without grouped-query attention, as in the paper's code.
#include <functional>
#include <optional>

#include "quant/gptq.h"
#include "quant/quantize_model.h"
#include "quant/work_model.h"

namespace tern::quant {

QuantizedModel run_awq(const TensorModel& model, const QuantRecipe& recipe);
QuantizedModel run_gptq(const TensorModel& model, const QuantRecipe& recipe);
QuantizedModel run_awq_gptq(const TensorModel& model, const QuantRecipe& recipe);

// The grid of tern's int<bits>g<group> storage types; nullopt for any other format.
std::optional<IntGroupGrid> int_group_grid(const FormatDescriptor& f);

// UsageError naming --format unless the recipe's format (or mix) has a GPTQ grid:
// tern's int<bits>g<group> or a GGUF block type with a codec.
void require_gptq_format(const QuantRecipe& recipe);

// The Hessian GPTQ uses for the Linear `tensor` (a WorkModel index), from the
// statistics of its input in the calibration pass: a method that changed the
// Linear's inputs since (AWQ's scales, a rotation) transforms it.
using HessianOf = std::function<std::vector<double>(int tensor, const ops::LinearInputStats& stats)>;

// GPTQ on every Linear of `wm` with statistics (hessian_of, or the collected
// Hessian when empty) whose format (the mix's choice for it) is a GPTQ grid —
// tern's int<bits>g<group> or a GGUF block type with a codec — round to nearest
// for the rest; a tied head is GPTQ'd into its own output.weight.
QuantizedModel gptq_then_rtn(WorkModel& wm, const ops::CalibrationCollector& stats, const HessianOf& hessian_of,
                             const QuantRecipe& recipe, std::vector<std::string> notes);

}  // namespace tern::quant
