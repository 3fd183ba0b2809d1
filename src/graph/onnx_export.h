#pragma once
// graph::Graph -> ONNX model file: the inverse of onnx_import.h, so any graph
// tern holds (imported, or built from a trained nn model) runs in ONNX
// Runtime. Initializers are written as raw_data; value infos carry the dtypes
// and shapes tern knows (an unknown dim is written without a value).
#include <string>

#include "graph/graph.h"

namespace tern::graph {

// The serialized ModelProto. InputError("onnx export", ...) for a tensor dtype
// ONNX has no type for (tern's block-quantized storage) or a model over the
// 2 GiB protobuf limit.
std::string export_onnx_bytes(const Graph& g);

// Writes export_onnx_bytes(g) to `path` atomically: a failed export leaves no
// file (and no half-written one) behind; IoError naming `path` when it cannot be written.
void export_onnx_file(const Graph& g, const std::string& path);

}  // namespace tern::graph
