#pragma once
// Model zoo: networks by name for image classification on small grey images
// (28 x 28 x 1, Fashion-MNIST / MNIST sized). Only architecture lives here;
// datasets and training are elsewhere (nn/data, nn/train).
//
// Parameter names are stable dotted paths ("conv1.weight", "blocks.2.dw.weight"),
// so a checkpoint written by one run loads into the same model in another.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/modules/module.h"

namespace tern::nn::models {

struct ModelInfo {
    std::string name;
    std::string description;
};

// Every model the zoo can build, in a fixed order.
const std::vector<ModelInfo>& model_list();
bool has_model(const std::string& name);

// Model families an upper floor adds (nas/ registers "nas:", whose names carry
// the architecture): make_model and has_model hand every name beginning with
// `prefix` to `factory`, which throws InputError("model", ...) for a bad name.
using ModelFactory = std::function<std::shared_ptr<UnaryModule>(const std::string& name, uint64_t seed,
                                                                 int64_t in_channels, int64_t num_classes)>;
void register_model_family(const std::string& prefix, ModelFactory factory);

// Builds `name` with freshly seeded weights, taking (N, in_channels, 28, 28)
// images to (N, num_classes) logits. Throws InputError("model", ...) listing
// the known names when `name` is unknown.
std::shared_ptr<UnaryModule> make_model(const std::string& name, uint64_t seed, int64_t in_channels = 1,
                                        int64_t num_classes = 10);

}  // namespace tern::nn::models
