#pragma once
// Integer convolution and matrix product under ConvInteger / QLinearConv and
// MatMulInteger / QLinearMatMul: 8-bit codes with zero points in, exact int32
// sums out. `fast` runs the products on gemm_q8 (int8_gemm.h; im2col for
// Conv) and depthwise convs on a typed direct loop; the reference loops are
// the fallback and the tests' oracle.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

// x (N, C, H, W) or (N, C, L) int8/uint8, w (O, C / group, KH, KW) or (O, C / group, KL);
// pads, strides, dilations, group, auto_pad from the node. w_zp: one, or one per output channel.
// Returns int32 (N, O, OH, OW) (or (N, O, OL)).
Tensor integer_conv(const Node& n, const Tensor& x, int32_t x_zp, const Tensor& w, const std::vector<int32_t>& w_zp,
                    bool fast = true);

// numpy matmul of int8/uint8 a (..., M, K) and b (..., K, N) with a_zp (one or M) and
// b_zp (one or N); returns int32 (..., M, N).
Tensor integer_matmul(const Node& n, const Tensor& a, const std::vector<int32_t>& a_zp, const Tensor& b,
                      const std::vector<int32_t>& b_zp, bool fast = true);

}  // namespace tern::graph
