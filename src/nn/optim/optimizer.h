#pragma once
// Optimizers over a list of parameters. step() reads each parameter's grad
// (parameters without one are skipped, as in PyTorch) and updates values in
// place; the learning rate can be changed between steps (schedules).
#include <string>
#include <utility>
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

    // State for checkpoints and resume: slot name -> one tensor per parameter
    // (undefined until that parameter's first step). Restoring the slots and
    // the step count makes the next step() exactly what it would have been.
    virtual std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() { return {}; }
    virtual int64_t step_count() const { return 0; }
    virtual void set_step_count(int64_t) {}

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
    std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() override {
        return {{"momentum", &momentum_}};
    }

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
    std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots() override {
        return {{"exp_avg", &m_}, {"exp_avg_sq", &v_}};
    }
    int64_t step_count() const override { return t_; }
    void set_step_count(int64_t t) override { t_ = t; }

private:
    AdamWOptions opt_;
    int64_t t_ = 0;
    std::vector<Tensor> m_, v_;  // first and second moments per parameter
};

}  // namespace tern::nn
