#pragma once
// Graph -> Graph rewrites that keep a model's numerics (up to float
// rounding of folded weights) and make it cheaper to run. optimize() runs
// them all in the order below; each is usable (and tested) on its own.
#include "graph/graph.h"

namespace tern::graph {

// Nodes whose inputs are all initializers (Constant included) are run once
// and their outputs become initializers.
Graph fold_constants(Graph g);
// BatchNormalization right after a Conv (whose output nothing else reads)
// is folded into the Conv's weights and bias.
Graph fold_batch_norm(Graph g);
// Conv followed by Relu, Clip (constant bounds; Relu6), HardSigmoid,
// LeakyRelu, HardSwish or the x * HardSigmoid(x) pattern becomes one
// FusedConv node (attributes "activation" and "activation_params", as ONNX
// Runtime's com.microsoft FusedConv spells them).
Graph fuse_conv_activation(Graph g);
// Identity and Dropout (inference: a copy) are bypassed.
Graph remove_identities(Graph g);
// Nodes none of whose outputs reach a graph output, and initializers nothing reads, are dropped.
Graph eliminate_dead_nodes(Graph g);

Graph optimize(Graph g);

}  // namespace tern::graph
