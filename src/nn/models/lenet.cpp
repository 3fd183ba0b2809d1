#include "nn/models/lenet.h"

#include "nn/ops.h"

namespace tern::nn::models {

LeNet300::LeNet300(int64_t in_features, int64_t num_classes, uint64_t seed, int64_t hidden1, int64_t hidden2) {
    fc1 = register_module("fc1", std::make_shared<Linear>(in_features, hidden1, true, child_seed(seed, 1)));
    fc2 = register_module("fc2", std::make_shared<Linear>(hidden1, hidden2, true, child_seed(seed, 2)));
    fc3 = register_module("fc3", std::make_shared<Linear>(hidden2, num_classes, true, child_seed(seed, 3)));
}

Var LeNet300::forward(const Var& x) {
    Var h = relu(fc1->forward(flatten(x, 1)));
    h = relu(fc2->forward(h));
    return fc3->forward(h);
}

LeNet5::LeNet5(int64_t in_channels, int64_t num_classes, bool batch_norm, uint64_t seed, LeNet5Widths w) {
    const bool conv_bias = !batch_norm;
    conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, w.conv1, Conv2dOptions{5, 1, 2, 1, 1, conv_bias},
                                                              child_seed(seed, 1)));
    if (batch_norm) bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(w.conv1));
    conv2 = register_module("conv2",
                            std::make_shared<Conv2d>(w.conv1, w.conv2, Conv2dOptions{5, 1, 0, 1, 1, conv_bias}, child_seed(seed, 2)));
    if (batch_norm) bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(w.conv2));
    fc1 = register_module("fc1", std::make_shared<Linear>(w.conv2 * 5 * 5, w.fc1, true, child_seed(seed, 3)));
    fc2 = register_module("fc2", std::make_shared<Linear>(w.fc1, w.fc2, true, child_seed(seed, 4)));
    fc3 = register_module("fc3", std::make_shared<Linear>(w.fc2, num_classes, true, child_seed(seed, 5)));
}

Var LeNet5::forward(const Var& x) {
    const Pool2dParams pool{2, 2, 2, 2, 0, 0};
    Var h = conv1->forward(x);
    if (bn1) h = bn1->forward(h);
    h = max_pool2d(relu(h), pool);
    h = conv2->forward(h);
    if (bn2) h = bn2->forward(h);
    h = max_pool2d(relu(h), pool);
    h = relu(fc1->forward(flatten(h, 1)));
    h = relu(fc2->forward(h));
    return fc3->forward(h);
}

}  // namespace tern::nn::models
