#pragma once
// The "pruned:" model family: a zoo model whose layers were narrowed by
// channel pruning, its widths carried in the name ("pruned:mobilenetv2_tiny:
// 40,64,...") so a pruned classifier file is an ordinary dense classifier
// file that every loader (tern eval, export, cost, train --init) rebuilds.
// Parameter names stay the base model's, only the shapes shrink.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/modules/module.h"

namespace tern::nn::models {

constexpr const char* kPrunedPrefix = "pruned:";

// The zoo models channel pruning knows ("lenet300", "lenet5", "lenet5_bn",
// "mobilenetv2_tiny").
bool is_prunable_base(const std::string& base);

// Names of the prunable widths of `base`, in name order: lenet300 fc1 fc2;
// lenet5 conv1 conv2 fc1 fc2; mobilenetv2_tiny blocks.N.hidden for every block
// with an expand conv, then head. InputError("model", ...) for another base.
std::vector<std::string> width_names(const std::string& base);
std::vector<int64_t> full_widths(const std::string& base);

struct PrunedArch {
    std::string base;
    std::vector<int64_t> widths;  // one per width_names(base), each 1..full width
};

std::string pruned_model_name(const PrunedArch& a);
// A "pruned:" name, or a prunable base name (its full widths). Throws
// InputError("model", ...) for anything else or a width out of range.
PrunedArch pruned_arch_of(const std::string& name);

std::shared_ptr<UnaryModule> make_pruned_model(const PrunedArch& a, uint64_t seed, int64_t in_channels,
                                               int64_t num_classes);

// Multiply-accumulates of one 28x28 image (convolutions and linears; batch
// norm, activations, pools and adds are not MACs), as tern cost counts them.
int64_t pruned_macs(const PrunedArch& a, int64_t in_channels = 1, int64_t num_classes = 10);

}  // namespace tern::nn::models
