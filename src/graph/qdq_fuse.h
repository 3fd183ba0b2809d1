#pragma once
// QDQ -> integer-only rewrite. A QDQ model (QuantizeLinear / DequantizeLinear
// pairs around float Conv / MatMul, weights stored as int8 initializers behind
// a DequantizeLinear) is turned into QLinearConv / QLinearMatMul nodes on the
// codes, which run on the int8 kernels (ops_quant.cpp), the way ONNX Runtime's
// QDQ transformer does:
//   DQ(x) -> Conv(DQ(w_int8), [DQ(bias_int32)]) -> Q   =>  QLinearConv
//   DQ(a) -> MatMul(DQ(b_int8))              -> Q       =>  QLinearMatMul
//   DQ(a) -> Gemm(DQ(w_int8), [DQ(bias_int32)]) -> Q    =>  Reshape, 1x1 QLinearConv, Reshape
//   (a Relu before the Q is absorbed when Q's zero point is the codes' minimum)
//   DQ(x) -> Reshape / Flatten / Transpose / Squeeze / Unsqueeze -> Q, same scale and
//            zero point                                 =>  the op on the codes
// DequantizeLinear nodes left without readers are dropped. Anything that does not
// match exactly (per-channel activations, float bias, several readers of the
// float output) stays as it was and runs in float.
#include "graph/graph.h"

namespace tern::graph {

struct QdqFuseStats {
    int convs = 0, matmuls = 0, gemms = 0, data_movement = 0, dropped_nodes = 0;
};

Graph fuse_qdq(const Graph& g, QdqFuseStats* stats = nullptr);

}  // namespace tern::graph
