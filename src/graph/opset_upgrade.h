#pragma once
// A graph rewritten for a newer default-domain opset with the same numerics:
// the ops whose attributes became inputs (Clip < 11, Slice < 10, Pad < 11,
// Squeeze / Unsqueeze / Split / ReduceSum < 13, TopK < 10) get them as int64 /
// float initializers, and Softmax / LogSoftmax / Hardmax < 13 (which flattened
// to 2-D at `axis`) get axis -1 where that is the last one, else run between a
// Flatten and a Reshape back to the input's shape. Graph PTQ
// needs this: per-channel DequantizeLinear is opset 13, and a Paddle export
// (opset 9) keeps Clip's bounds and Slice's ranges in attributes that opset 13
// no longer reads. InputError naming the node for one that cannot be carried
// over (a Resize / Upsample of opset < 11).
#include <cstdint>

#include "graph/graph.h"

namespace tern::graph {

Graph upgrade_opset(Graph g, int64_t target);

}  // namespace tern::graph
