#pragma once
// The training-time compression steps of `tern demo`, on the embedded
// classifiers and a slice of Fashion-MNIST's training split.
#include <string>

namespace tern::cli {

// LeNet-5 trained for one epoch on a slice of the training split twice with the
// same seed: alone, and taught by the embedded mobilenetv2_tiny (Hinton KD,
// T 4, alpha 0.9); both judged on the whole test split. One table cell.
std::string demo_distill(const std::string& models_dir);

}  // namespace tern::cli
