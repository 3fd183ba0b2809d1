#pragma once
// A MobileNetV2-style network scaled for 28x28 grey images: stem 3x3 conv,
// inverted residual blocks (1x1 expansion - depthwise 3x3 - linear 1x1
// projection, each with batch norm; ReLU6 after the first two; identity
// shortcut when stride is 1 and the width is unchanged), a 1x1 head conv,
// global average pooling and a linear classifier.
#include <memory>
#include <vector>

#include "nn/modules/conv.h"
#include "nn/modules/linear.h"
#include "nn/modules/norm.h"
#include "nn/modules/sequential.h"

namespace tern::nn::models {

class InvertedResidual : public UnaryModule {
public:
    // `kernel`: the depthwise kernel (odd; padded to keep the size at stride 1).
    // `hidden`: the expanded width (0: in_channels * expansion); channel pruning
    // cuts it below that, expansion != 1 still saying there is an expand conv.
    InvertedResidual(int64_t in_channels, int64_t out_channels, int64_t stride, int64_t expansion, uint64_t seed,
                     int64_t kernel = 3, int64_t hidden = 0);
    Var forward(const Var& x) override;
    std::shared_ptr<Conv2d> expand;  // null when expansion == 1
    std::shared_ptr<BatchNorm2d> expand_bn;
    std::shared_ptr<DepthwiseConv2d> dw;
    std::shared_ptr<BatchNorm2d> dw_bn;
    std::shared_ptr<Conv2d> project;
    std::shared_ptr<BatchNorm2d> project_bn;
    bool residual = false;
};

struct MobileNetV2Config {
    int64_t stem_channels = 16;
    struct Stage {
        int64_t expansion, channels, repeats, stride;
    };
    std::vector<Stage> stages;  // as the paper's (t, c, n, s) table
    // One entry per block, used instead of `stages` when not empty: the
    // architectures nas/ finds vary kernel and expansion block by block.
    struct Block {
        int64_t expansion, channels, stride, kernel;
        int64_t hidden = 0;  // expanded width; 0: input channels * expansion (pruned models set it)
    };
    std::vector<Block> blocks;
    int64_t head_channels = 128;
};

// The zoo's "mobilenetv2_tiny": 28x28 -> 14x14 -> 7x7, ~0.1 M parameters.
MobileNetV2Config mobilenetv2_tiny_config();

class MobileNetV2 : public UnaryModule {
public:
    MobileNetV2(const MobileNetV2Config& cfg, int64_t in_channels, int64_t num_classes, uint64_t seed);
    Var forward(const Var& x) override;
    std::shared_ptr<Conv2d> stem;
    std::shared_ptr<BatchNorm2d> stem_bn;
    std::shared_ptr<Sequential> blocks;
    std::shared_ptr<Conv2d> head;
    std::shared_ptr<BatchNorm2d> head_bn;
    std::shared_ptr<Linear> classifier;
};

}  // namespace tern::nn::models
