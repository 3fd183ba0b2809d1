#pragma once
// Optimizers over a list of parameters. step() reads each parameter's grad
// (parameters without one are skipped, as in PyTorch) and updates values in
// place; the learning rate can be changed between steps (schedules).
#include <vector>

#include "nn/autograd.h"

namespace tern::nn {

class Optimizer {
public:
    explicit Optimizer(std::vector<Var> params, float lr) : params_(std::move(params)), lr_(lr) {}
    virtual ~Optimizer() = default;
    virtual void step() = 0;
    void zero_grad();
    void set_lr(float lr) { lr_ = lr; }
    float lr() const { return lr_; }
    const std::vector<Var>& params() const { return params_; }

protected:
    std::vector<Var> params_;
    float lr_;
};

struct SgdOptions {
    float lr = 0.01f;
    float momentum = 0.0f;
    float dampening = 0.0f;
    float weight_decay = 0.0f;  // L2, added to the gradient
    bool nesterov = false;
};

// PyTorch SGD: g += wd*p; buf = m*buf + (1-d)*g (buf = g on the first step);
// g = nesterov ? g + m*buf : buf; p -= lr*g.
class SGD : public Optimizer {
public:
    SGD(std::vector<Var> params, const SgdOptions& opt);
    void step() override;

private:
    SgdOptions opt_;
    std::vector<Tensor> momentum_;  // per parameter, undefined until first step
};

struct AdamWOptions {
    float lr = 1e-3f;
    float beta1 = 0.9f;
    float beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0.01f;  // decoupled: p *= 1 - lr*wd
};

class AdamW : public Optimizer {
public:
    AdamW(std::vector<Var> params, const AdamWOptions& opt);
    void step() override;
    int64_t steps() const { return t_; }

private:
    AdamWOptions opt_;
    int64_t t_ = 0;
    std::vector<Tensor> m_, v_;  // first and second moments per parameter
};

}  // namespace tern::nn
