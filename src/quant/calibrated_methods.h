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
#include "quant/quantize_model.h"

namespace tern::quant {

QuantizedModel run_awq(const TensorModel& model, const QuantRecipe& recipe);
QuantizedModel run_gptq(const TensorModel& model, const QuantRecipe& recipe);
QuantizedModel run_awq_gptq(const TensorModel& model, const QuantRecipe& recipe);

}  // namespace tern::quant
