#pragma once
// Parameter-free layers, so activations and pooling can sit in a Sequential.
#include "nn/modules/module.h"
#include "nn/ops.h"

namespace tern::nn {

class ReLU : public UnaryModule {
public:
    Var forward(const Var& x) override { return relu(x); }
};
class GELU : public UnaryModule {
public:
    Var forward(const Var& x) override { return gelu_tanh(x); }
};
class SiLU : public UnaryModule {
public:
    Var forward(const Var& x) override { return silu(x); }
};
class Tanh : public UnaryModule {
public:
    Var forward(const Var& x) override { return tanh(x); }
};
class Flatten : public UnaryModule {
public:
    Var forward(const Var& x) override { return flatten(x, 1); }
};
class MaxPool2d : public UnaryModule {
public:
    explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
        : p{kernel, kernel, stride ? stride : kernel, stride ? stride : kernel, padding, padding} {}
    Var forward(const Var& x) override { return max_pool2d(x, p); }
    Pool2dParams p;
};
class AvgPool2d : public UnaryModule {
public:
    explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
        : p{kernel, kernel, stride ? stride : kernel, stride ? stride : kernel, padding, padding} {}
    Var forward(const Var& x) override { return avg_pool2d(x, p); }
    Pool2dParams p;
};
class GlobalAvgPool2d : public UnaryModule {
public:
    Var forward(const Var& x) override { return global_avg_pool2d(x); }
};
// Draws a fresh mask per call from (seed, call counter): reproducible runs.
class Dropout : public UnaryModule {
public:
    Dropout(float p, uint64_t seed) : p_(p), seed_(seed) {}
    Var forward(const Var& x) override { return dropout(x, p_, is_training(), child_seed(seed_, calls_++)); }

private:
    float p_;
    uint64_t seed_;
    uint64_t calls_ = 0;
};

}  // namespace tern::nn
