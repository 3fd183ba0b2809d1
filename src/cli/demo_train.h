#pragma once
// The training-time compression steps of `tern demo`, on the embedded
// classifiers and a slice of Fashion-MNIST's training split.
#include <string>

namespace tern::cli {

// LeNet-5 trained for one epoch on a slice of the training split twice with the
// same seed: alone, and taught by the embedded mobilenetv2_tiny (Hinton KD,
// T 4, alpha 0.9); both judged on the whole test split. One table cell.
std::string demo_distill(const std::string& models_dir);

// LeNet-5 fake-quantized to W4A4 (LSQ, per-channel weights) from the embedded
// fp32 model, one epoch on a training slice, with and without Hinton KD from
// that fp32 model; both judged on the whole test split. One table cell.
std::string demo_qat_distill(const std::string& models_dir);

// A small zero-shot search in the elastic MobileNetV2 space under a parameter
// budget: architectures scored at initialisation by NASWOT, the top one trained
// one epoch on a training slice, measured on the test split.
std::string demo_search();

// Deep Compression's weight sharing on the embedded LeNet-300: 4-bit K-means
// codebooks per layer, Huffman-coded codes, the file's own size and its test
// accuracy after decoding at load.
std::string demo_kmeans(const std::string& models_dir);

}  // namespace tern::cli
