#pragma once
#include "nn/modules/module.h"

namespace tern::nn {

// Per-channel batch norm on (N, C, H, W); buffers running_mean/running_var.
class BatchNorm2d : public UnaryModule {
public:
    explicit BatchNorm2d(int64_t channels, float eps = 1e-5f, float momentum = 0.1f);
    Var forward(const Var& x) override;
    Var weight, bias;                  // (C) gamma, beta
    Tensor running_mean, running_var;  // (C)
    float eps, momentum;
};

class LayerNorm : public UnaryModule {
public:
    explicit LayerNorm(int64_t dim, float eps = 1e-5f, bool bias = true);
    Var forward(const Var& x) override;
    Var weight, bias;
    float eps;
};

class RMSNorm : public UnaryModule {
public:
    explicit RMSNorm(int64_t dim, float eps = 1e-6f);
    Var forward(const Var& x) override;
    Var weight;
    float eps;
};

}  // namespace tern::nn
