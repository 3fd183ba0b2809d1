#pragma once
#include "nn/modules/module.h"

namespace tern::nn {

// y = x W^T + b; W: (out, in). Init as PyTorch: U(-1/sqrt(in), 1/sqrt(in)).
class Linear : public UnaryModule {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias, uint64_t seed);
    Var forward(const Var& x) override;
    Var weight, bias;  // (out, in), (out) or undefined
};

}  // namespace tern::nn
