#pragma once
// Which BatchNorm2d follows which Conv2d in the zoo's CNNs, read from their
// fields (the same ones forward() uses), for QAT with BatchNorm folding.
#include <string>
#include <utility>
#include <vector>

#include "nn/modules/conv.h"
#include "nn/modules/norm.h"

namespace tern::nn::models {

// (conv, the BatchNorm applied to its output) for LeNet-5 with batch norm and
// MobileNetV2 (stem, expand, depthwise, project, head); empty for other models.
std::vector<std::pair<Conv2d*, BatchNorm2d*>> conv_batch_norm_pairs(UnaryModule& model);

// Points each such conv's quantizer at its BatchNorm (LayerFakeQuant::folded_bn);
// returns how many. InputError(where) when the model has no conv + BatchNorm pair
// or a conv has no quantizer.
int64_t fold_batch_norms_into_quantizers(UnaryModule& model, const std::string& where);

}  // namespace tern::nn::models
