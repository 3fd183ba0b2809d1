#pragma once
// ONNX model file -> graph::Graph. Reads opsets 9-17 of the default domain;
// initializers from raw_data or the typed fields (external data is refused
// for now). Every problem is one InputError naming the file: not a model,
// an opset outside 9-17, an op tern does not run (naming the op and node),
// an attribute kind tern does not hold, a cycle.
#include <string>

#include "graph/graph.h"

namespace tern::graph {

inline constexpr int64_t kMinOnnxOpset = 9;
inline constexpr int64_t kMaxOnnxOpset = 17;

Graph import_onnx_file(const std::string& path);
// The same from bytes in memory; `where` names the source in errors.
Graph import_onnx_bytes(const void* data, size_t size, const std::string& where);

}  // namespace tern::graph
