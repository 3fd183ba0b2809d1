#pragma once
// Reading a serialized ONNX TensorProto file (the conformance data's
// input_0.pb / output_0.pb) without including the protobuf classes.
#include <string>

#include "core/tensor.h"

namespace tern::graph {

// InputError naming the path for a file that is not a TensorProto tern holds.
Tensor read_onnx_tensor_file(const std::string& path);

}  // namespace tern::graph
