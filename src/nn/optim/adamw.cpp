#include <cmath>

#include "nn/optim/optimizer.h"

namespace tern::nn {

AdamW::AdamW(std::vector<Var> params, const AdamWOptions& opt) : Optimizer(std::move(params), opt.lr), opt_(opt) {
    m_.resize(params_.size());
    v_.resize(params_.size());
}

void AdamW::step() {
    ++t_;
    // Same arithmetic order as torch.optim.AdamW (single-tensor path), so
    // updates agree to rounding.
    const double bc1 = 1.0 - std::pow(static_cast<double>(opt_.beta1), static_cast<double>(t_));
    const double bc2 = 1.0 - std::pow(static_cast<double>(opt_.beta2), static_cast<double>(t_));
    const float step_size = static_cast<float>(lr_ / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    for (size_t i = 0; i < params_.size(); ++i) {
        Var& p = params_[i];
        if (!p.has_grad()) continue;
        if (!m_[i].defined()) {
            m_[i] = Tensor::zeros(p.shape());
            v_[i] = Tensor::zeros(p.shape());
        }
        float* w = p.data();
        const float* g = p.grad().data<float>();
        float* m = m_[i].data<float>();
        float* v = v_[i].data<float>();
        const float decay = 1.0f - lr_ * opt_.weight_decay;
        for (int64_t j = 0; j < p.numel(); ++j) {
            w[j] *= decay;
            m[j] = m[j] * opt_.beta1 + (1.0f - opt_.beta1) * g[j];
            v[j] = v[j] * opt_.beta2 + (1.0f - opt_.beta2) * g[j] * g[j];
            const float denom = std::sqrt(v[j]) / bc2_sqrt + opt_.eps;
            w[j] -= step_size * m[j] / denom;
        }
    }
}

}  // namespace tern::nn
