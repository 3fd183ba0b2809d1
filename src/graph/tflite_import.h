#pragma once
// TFLite model file (FlatBuffers, schema version 3, identifier "TFL3") ->
// graph::Graph, the same IR the ONNX importer builds, so one executor,
// shape inference and summary serve both. float32 models (with float16
// weights behind DEQUANTIZE) are read; int8-quantized models are refused for
// now. Every problem is one InputError naming the file: not a TFLite model,
// a flatbuffer the Verifier rejects, a tensor whose data disagrees with its
// shape, an index out of range, an op tern does not run (naming the op and
// the operator index).
#include <cstddef>
#include <string>

#include "graph/graph.h"

namespace tern::graph {

Graph import_tflite_file(const std::string& path);
// The same from bytes in memory; `where` names the source in errors.
Graph import_tflite_bytes(const void* data, size_t size, const std::string& where);
// True when the bytes carry the "TFL3" file identifier (at byte 4).
bool has_tflite_identifier(const void* data, size_t size);

}  // namespace tern::graph
