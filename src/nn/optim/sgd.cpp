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

void SGD::step() {
    for (size_t i = 0; i < params_.size(); ++i) {
        Var& p = params_[i];
        if (!p.has_grad()) continue;
        const int64_t n = p.numel();
        float* w = p.data();
        const float* g0 = p.grad().data<float>();
        const bool first = !momentum_[i].defined();
        if (opt_.momentum != 0 && first) momentum_[i] = Tensor::empty(p.shape());
        float* buf = opt_.momentum != 0 ? momentum_[i].data<float>() : nullptr;
        for (int64_t j = 0; j < n; ++j) {
            float g = g0[j] + opt_.weight_decay * w[j];
            if (buf) {
                buf[j] = first ? g : opt_.momentum * buf[j] + (1.0f - opt_.dampening) * g;
                g = opt_.nesterov ? g + opt_.momentum * buf[j] : buf[j];
            }
            w[j] -= lr_ * g;
        }
    }
}

}  // namespace tern::nn
