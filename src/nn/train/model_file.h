#pragma once
// Trained classifier files: a safetensors checkpoint of f32 weights and
// buffers whose "__metadata__" names the zoo model ("tern.model") and records
// how it was made (recipe, accuracies, tern version). Loading rebuilds the
// model by name and checks that every tensor fits.
#include <map>
#include <memory>
#include <string>

#include "nn/modules/module.h"

namespace tern::nn::train {

struct ClassifierFile {
    std::shared_ptr<UnaryModule> model;  // in eval mode
    std::string model_name;
    std::map<std::string, std::string> metadata;
};

struct ClassifierLoadOptions {
    // Tensors holding NaN / Inf are refused by name unless this is set.
    bool allow_nonfinite = false;
};

// Throws InputError(path, ...) when the file is not a tern classifier, its
// tensors do not fit the named model, or one holds NaN / Inf.
ClassifierFile load_classifier(const std::string& path, const ClassifierLoadOptions& options = {});

// The classifier a recipe's `init` key names, which must be a file holding the
// recipe's `model`: InputError(source, "key 'init': ...") otherwise.
ClassifierFile load_init_classifier(const std::string& init, const std::string& model, const std::string& source);

// Writes atomically; `metadata` must include "tern.model".
void save_classifier(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata);

}  // namespace tern::nn::train
