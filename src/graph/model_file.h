#pragma once
// Which graph importer reads a model file: ONNX by its .onnx extension, TFLite
// by its .tflite extension or its "TFL3" file identifier (so a renamed file
// still works). The CLI's info and run commands go through here.
#include <string>

#include "graph/graph.h"

namespace tern::graph {

enum class GraphFileFormat { none, onnx, tflite };

GraphFileFormat graph_file_format(const std::string& path);  // none: not a graph model file
const char* graph_file_format_name(GraphFileFormat f);       // "ONNX", "TFLite"
// Imports a TFLite file as TFLite and anything else as ONNX (which has no magic bytes to check).
Graph import_graph_file(const std::string& path);

}  // namespace tern::graph
