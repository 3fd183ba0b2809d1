#pragma once
// What `tern info MODEL.onnx` reports about a graph: the op histogram,
// parameter count and bytes, and the inputs and outputs with their shapes.
#include "core/json_out.h"
#include "graph/graph.h"

namespace tern::graph {

// "[1, 3, ?, ?]" with ? for a dim unknown before run time; "?" for an unknown rank.
std::string value_shape_text(const ValueInfo& v);
Json graph_summary_json(const Graph& g);

}  // namespace tern::graph
