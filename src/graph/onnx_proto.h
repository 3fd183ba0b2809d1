#pragma once
// ONNX protobuf <-> tern conversions shared by the importer and the test-data
// reader. Internal to graph/: only .cpp files include this (it pulls in the
// generated ONNX classes).
#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

#include "core/tensor.h"

namespace tern::graph {

// ONNX TensorProto.DataType -> tern DType; nullopt for types tern does not hold (string, complex, uint16...).
std::optional<DType> dtype_from_onnx(int32_t onnx_type);
const char* onnx_type_name(int32_t onnx_type);

// A TensorProto's values as a contiguous tern Tensor (raw_data or the typed
// field). InputError naming `where` when the sizes disagree, the type is not
// supported, or the data is external (not supported yet).
Tensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& where);

// tern DType -> ONNX TensorProto.DataType; nullopt for tern's block-quantized storage types.
std::optional<int32_t> dtype_to_onnx(DType dtype);
// `t` as a TensorProto named `name` (raw_data, little-endian as ONNX stores it).
// InputError naming `where` for a dtype ONNX has no type for.
void tensor_to_onnx(const Tensor& t, const std::string& name, const std::string& where, onnx::TensorProto& out);

}  // namespace tern::graph
