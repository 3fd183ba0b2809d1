#include "nn/models/lenet.h"

#include "nn/ops.h"

namespace tern::nn::models {

LeNet300::LeNet300(int64_t in_features, int64_t num_classes, uint64_t seed) {
    fc1 = register_module("fc1", std::make_shared<Linear>(in_features, 300, true, child_seed(seed, 1)));
    fc2 = register_module("fc2", std::make_shared<Linear>(300, 100, true, child_seed(seed, 2)));
    fc3 = register_module("fc3", std::make_shared<Linear>(100, num_classes, true, child_seed(seed, 3)));
}

Var LeNet300::forward(const Var& x) {
    Var h = relu(fc1->forward(flatten(x, 1)));
    h = relu(fc2->forward(h));
    return fc3->forward(h);
}

LeNet5::LeNet5(int64_t in_channels, int64_t num_classes, bool batch_norm, uint64_t seed) {
    const bool conv_bias = !batch_norm;
    conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, 6, Conv2dOptions{5, 1, 2, 1, 1, conv_bias},
                                                              child_seed(seed, 1)));
    if (batch_norm) bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(6));
    conv2 = register_module("conv2",
                            std::make_shared<Conv2d>(6, 16, Conv2dOptions{5, 1, 0, 1, 1, conv_bias}, child_seed(seed, 2)));
    if (batch_norm) bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(16));
    fc1 = register_module("fc1", std::make_shared<Linear>(16 * 5 * 5, 120, true, child_seed(seed, 3)));
    fc2 = register_module("fc2", std::make_shared<Linear>(120, 84, true, child_seed(seed, 4)));
    fc3 = register_module("fc3", std::make_shared<Linear>(84, num_classes, true, child_seed(seed, 5)));
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
