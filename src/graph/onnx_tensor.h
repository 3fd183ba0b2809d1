#pragma once
// Reading a serialized ONNX TensorProto file (the conformance data's
// input_0.pb / output_0.pb) without including the protobuf classes.
#include <cstdint>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace tern::graph {

// InputError naming the path for a file that is not a TensorProto tern holds.
Tensor read_onnx_tensor_file(const std::string& path);
// ONNX TensorProto.DataType -> tern DType (also in onnx_proto.h), for ops such as Cast
// that name a type by its ONNX number; nullopt for types tern does not hold.
std::optional<DType> dtype_from_onnx(int32_t onnx_type);

}  // namespace tern::graph
