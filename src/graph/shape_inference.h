#pragma once
// Static shape inference: fills Graph::values with the output shapes and
// dtypes of the ops whose rule needs only input shapes (elementwise,
// activations, Conv, pools, Gemm, MatMul, Flatten, Transpose, Concat, Shape,
// Constant, BatchNormalization, Identity). Dims unknown before run time (-1)
// propagate; a known mismatch is an InputError naming the node:
// "[onnx] node 'Conv_12': weight has 3 dims, Conv needs 4". Ops whose output
// shape depends on tensor values (Reshape, Gather, Squeeze, ...) leave it unknown.
#include "graph/graph.h"

namespace tern::graph {

void infer_shapes(Graph& g);

}  // namespace tern::graph
