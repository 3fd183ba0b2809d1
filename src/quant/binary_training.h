#pragma once
// Binary and ternary training of a classifier, as its recipe's "binary" /
// "ternary" section says: the trainer attaches binarizers (nn/modules/
// binary_layer.h) to the Conv2d / Linear layers of the fp32 `init` model, all
// but the first and last unless keep_first_last is false, and trains the
// latent f32 weights through the straight-through estimator. The written model
// file stores those layers packed (nn/train/binary_file.h), and `tern eval`
// runs the same binary / ternary model.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/train/run.h"

namespace tern::quant {

// What the parser cannot check alone: that `init` is a trained fp32 classifier
// of the recipe's model (not a QAT or binary file). InputError naming the recipe.
void check_binary_recipe(const nn::train::Recipe& r);

struct BinaryRun {
    nn::train::RunResult run;         // test accuracy is the binary / ternary model's
    std::vector<std::string> layers;  // the binarized layers
    double init_test_accuracy = -1;   // the fp32 init's, from its metadata (-1: not recorded)
    int64_t file_bytes = 0;           // the written model file
    int64_t f32_file_bytes = 0;       // the same model written all f32 (measured by writing it)
};

// check_binary_recipe, then nn::train::run.
BinaryRun run_binary_training(const nn::train::Recipe& r, const nn::train::RunOptions& options);

// "bwn (binary weights, per-channel alpha)": the recipe's method in one phrase.
std::string binary_summary(const nn::train::BinaryRecipe& b);

}  // namespace tern::quant
