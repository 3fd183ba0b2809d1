#pragma once
// The graph-runtime steps of `tern demo`: a trained classifier exported as
// ONNX and run back by tern's graph runtime, and PaddleOCR reading a rendered
// line with the models scripts/setup.sh unpacks.
#include <string>

namespace tern::cli {

// Exports `model_path` (a tern classifier) as ONNX, imports the file, runs the
// optimized graph over the Fashion-MNIST test split on the planned executor and
// compares every prediction with the nn model's. One table cell.
std::string demo_graph_export(const std::string& model_path);

// The classifier statically quantized to an int8 QDQ graph (per-channel
// weights, min-max activation ranges from 512 training images), run
// integer-only over the Fashion-MNIST test split. One table cell.
std::string demo_graph_int8(const std::string& model_path);

// The classifier with 4-bit weights and int8 activations, rounded to nearest
// and by AdaRound (a short schedule), both run integer-only over the test
// split. One table cell.
std::string demo_graph_w4a8(const std::string& model_path);

// PP-OCRv4 detector + recognizer reading a line ImageMagick renders; says
// what is missing when the models or convert are not installed.
std::string demo_ocr();

}  // namespace tern::cli
