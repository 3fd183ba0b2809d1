#include <cstring>

#include "core/error.h"
#include "nn/optim/optimizer.h"

namespace tern::nn {

void Optimizer::zero_grad() {
    for (Var& p : params_) p.zero_grad();
}

SGD::SGD(std::vector<Var> params, const SgdOptions& opt) : Optimizer(std::move(params), opt.lr), opt_(opt) {
    if (opt.nesterov && (opt.momentum <= 0 || opt.dampening != 0))
        throw Error("SGD", "Nesterov momentum needs momentum > 0 and zero dampening");
    momentum_.resize(params_.size());
}

namespace {
// One parameter's update, the branches hoisted out of the element loop and
// the settings passed by value with __restrict pointers, so each loop
// vectorises (a store through w could otherwise alias the options).
// Per element: g = g0 + wd*w; buf = first ? g : m*buf + (1-d)*g;
// g = nesterov ? g + m*buf : buf; w -= lr*g.
void sgd_update(float* __restrict w, const float* __restrict g0, float* __restrict buf, int64_t n, float lr,
                float wd, float momentum, float dampening, bool nesterov, bool first) {
    if (!buf) {
        for (int64_t j = 0; j < n; ++j) w[j] -= lr * (g0[j] + wd * w[j]);
        return;
    }
    const float keep = 1.0f - dampening;
    if (first) {
        for (int64_t j = 0; j < n; ++j) {
            const float g = g0[j] + wd * w[j];
            buf[j] = g;
            w[j] -= lr * (nesterov ? g + momentum * g : g);
        }
        return;
    }
    if (nesterov)
        for (int64_t j = 0; j < n; ++j) {
            const float g = g0[j] + wd * w[j];
            const float b = momentum * buf[j] + keep * g;
            buf[j] = b;
            w[j] -= lr * (g + momentum * b);
        }
    else
        for (int64_t j = 0; j < n; ++j) {
            const float g = g0[j] + wd * w[j];
            const float b = momentum * buf[j] + keep * g;
            buf[j] = b;
            w[j] -= lr * b;
        }
}
}  // namespace

void SGD::step() {
    for (size_t i = 0; i < params_.size(); ++i) {
        Var& p = params_[i];
        if (!p.has_grad()) continue;
        const bool first = !momentum_[i].defined();
        if (opt_.momentum != 0 && first) momentum_[i] = Tensor::empty(p.shape());
        float* buf = opt_.momentum != 0 ? momentum_[i].data<float>() : nullptr;
        sgd_update(p.data(), p.grad().data<float>(), buf, p.numel(), lr_, opt_.weight_decay, opt_.momentum,
                   opt_.dampening, opt_.nesterov, first);
    }
}

}  // namespace tern::nn
