#pragma once
// Prepared quantized ops for the graph executor. QLinearConv: constant int8 weights packed
// once for gemm_q8 (im2col over the whole batch, the requantization fused in
// the kernel's epilogue) and depthwise convs on a direct loop that writes
// codes. The arithmetic is the reference op's (int8_conv.h + requantize in
// ops_quant.cpp): the same int32 sums, the same (x_scale * w_scale) / y_scale,
// clamp and round-to-nearest-even, so a prepared run equals a reference run bit for bit.
#include <optional>
#include <vector>

#include "graph/prepared_step.h"

namespace tern::graph {

// nullopt unless the node has constant int8 weights with zero points 0,
// constant scales and zero points, an optional constant int32 bias, and a 4-D
// 8-bit input whose planned shape is known; the reference op runs the rest.
std::optional<PreparedStep> prepare_qlinear_conv(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                 const std::vector<ValueSlot>& slots);

// Per-tensor QuantizeLinear (f32 -> codes) and DequantizeLinear (codes -> f32)
// with constant scale and zero point, as the reference ops compute them
// (kernels/requant/requant.h quantize_float; (code - zp) * scale); nullopt otherwise.
std::optional<PreparedStep> prepare_quantize_linear(const std::vector<int>& in, const std::vector<int>& out,
                                                    const std::vector<ValueSlot>& slots);
// MaxPool on 8-bit codes (2-D, no dilation or ceil_mode, pads within the kernel).
std::optional<PreparedStep> prepare_max_pool_codes(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                   const std::vector<ValueSlot>& slots);
std::optional<PreparedStep> prepare_dequantize_linear(const std::vector<int>& in, const std::vector<int>& out,
                                                      const std::vector<ValueSlot>& slots);

}  // namespace tern::graph
