#pragma once
// tern's trained classifiers (nn/ zoo models loaded from a safetensors file)
// as graph::Graphs, so `tern export` can write them as ONNX and ONNX Runtime
// runs tern's models. interop/ sits above nn/ and graph/ (which share a floor
// and may not include each other) and joins the two.
#include <string>

#include "graph/graph.h"
#include "interop/qat_graph.h"
#include "nn/modules/module.h"

namespace tern::interop {

// Names of the exported graph's one input and one output.
inline constexpr const char* kImageInput = "image";    // (N, C, H, W) f32, normalised as for training
inline constexpr const char* kLogitsOutput = "logits";  // (N, classes) f32
inline constexpr int64_t kExportOpset = 13;

// The graph computing `model.forward` in eval mode for (N, channels, height,
// width) inputs, N left unknown. Weights are shared with the model, not
// copied. InputError naming the module for a module type with no graph form.
graph::Graph classifier_graph(nn::UnaryModule& model, const std::string& model_name, int64_t channels, int64_t height,
                              int64_t width);

// Loads a tern classifier file (nn/train/model_file.h) as its graph (the
// weights stay alive with the graph's initializers). InputError naming
// `model_path` when it is not a tern classifier.
graph::Graph load_classifier_graph(const std::string& model_path);

// Loads a tern classifier file (nn/train/model_file.h) and writes it as an
// ONNX model; returns the graph written. A QAT model ("tern.qat" metadata) is
// written as its integer-only QDQ graph (qat_graph.h; `qat` says how). InputError
// naming `model_path` when it is not a tern classifier, IoError naming
// `onnx_path` when it cannot be written (nothing is left there then).
graph::Graph export_classifier_onnx(const std::string& model_path, const std::string& onnx_path,
                                    QatGraphReport* qat = nullptr);

}  // namespace tern::interop
