#pragma once
#include "nn/modules/module.h"
#include "nn/ops.h"

namespace tern::nn {

class LayerFakeQuant;

struct Conv2dOptions {
    int64_t kernel = 3;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t dilation = 1;
    int64_t groups = 1;
    bool bias = true;
};

// NCHW convolution; weight (O, C/groups, k, k). Init as PyTorch.
class Conv2d : public UnaryModule {
public:
    Conv2d(int64_t in_channels, int64_t out_channels, const Conv2dOptions& opt, uint64_t seed);
    Var forward(const Var& x) override;
    // QAT: fake-quantize the weight and input on every forward (nn/modules/fake_quant.h).
    void attach_fake_quant(std::shared_ptr<LayerFakeQuant> q);
    std::shared_ptr<LayerFakeQuant> fake_quant;
    Var weight, bias;
    Conv2dParams params;
};

// Conv2d with groups == channels (one k x k filter per channel).
class DepthwiseConv2d : public Conv2d {
public:
    DepthwiseConv2d(int64_t channels, int64_t kernel, int64_t stride, int64_t padding, bool bias, uint64_t seed,
                    int64_t dilation = 1);
};

}  // namespace tern::nn
