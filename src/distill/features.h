#pragma once
// The zoo models' forward with taps: the logits plus the outputs of named
// points inside the network, what FitNets hints and attention transfer compare.
// The modules do not record their outputs, so this replays each zoo model's
// forward from its public parts (a test checks the logits equal forward()).
// Points are module paths ("conv2", "blocks.3", "head_bn": that module's
// output) plus LeNet-5's "pool1" / "pool2" (after ReLU and max pooling).
#include <string>
#include <vector>

#include "nn/modules/module.h"

namespace tern::distill {

// The points `model` can tap, in forward order (empty: not a zoo model it knows).
std::vector<std::string> feature_points(nn::UnaryModule& model);

struct TappedForward {
    nn::Var logits;
    std::vector<nn::Var> features;  // one per requested point, in request order
};

// Throws InputError(where, "key 'distill.layers': ...") naming an unknown point and listing the known ones.
TappedForward forward_with_features(nn::UnaryModule& model, const nn::Var& x, const std::vector<std::string>& points,
                                    const std::string& where = "recipe");

}  // namespace tern::distill
