#pragma once
// LeNet family: LeNet-300-100 (MLP) and LeNet-5 (two convolutions, three
// fully connected layers), ReLU activations, optional batch norm.
#include <memory>

#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/norm.h"

namespace tern::nn::models {

// 784-300-100-10 for 28x28 inputs: flatten, fc1, ReLU, fc2, ReLU, fc3.
class LeNet300 : public UnaryModule {
public:
    // hidden1 / hidden2: 300 / 100, fewer in a channel-pruned model.
    LeNet300(int64_t in_features, int64_t num_classes, uint64_t seed, int64_t hidden1 = 300, int64_t hidden2 = 100);
    Var forward(const Var& x) override;
    std::shared_ptr<Linear> fc1, fc2, fc3;
};

// Widths of conv1, conv2, fc1, fc2 (fewer in a channel-pruned model).
struct LeNet5Widths {
    int64_t conv1 = 6, conv2 = 16, fc1 = 120, fc2 = 84;
};

// conv1 6@5x5 pad 2 - [bn1] - ReLU - maxpool 2 - conv2 16@5x5 - [bn2] - ReLU -
// maxpool 2 - fc1 120 - ReLU - fc2 84 - ReLU - fc3. With batch norm the
// convolutions drop their bias (BN's beta replaces it).
class LeNet5 : public UnaryModule {
public:
    LeNet5(int64_t in_channels, int64_t num_classes, bool batch_norm, uint64_t seed, LeNet5Widths w = {});
    Var forward(const Var& x) override;
    std::shared_ptr<Conv2d> conv1, conv2;
    std::shared_ptr<BatchNorm2d> bn1, bn2;  // null without batch norm
    std::shared_ptr<Linear> fc1, fc2, fc3;
};

}  // namespace tern::nn::models
