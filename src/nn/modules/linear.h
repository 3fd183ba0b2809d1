#pragma once
#include "nn/modules/module.h"

namespace tern::nn {

class LayerFakeQuant;

// y = x W^T + b; W: (out, in). Init as PyTorch: U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public UnaryModule {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias, uint64_t seed);
    Var forward(const Var& x) override;
    // QAT: fake-quantize the weight and input on every forward (nn/modules/fake_quant.h).
    void attach_fake_quant(std::shared_ptr<LayerFakeQuant> q);
    std::shared_ptr<LayerFakeQuant> fake_quant;
    Var weight, bias;  // (out, in), (out) or undefined
};

}  // namespace tern::nn
