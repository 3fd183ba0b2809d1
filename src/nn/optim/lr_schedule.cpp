#include "nn/optim/lr_schedule.h"

#include <cmath>

namespace tern::nn {

namespace {
// Warm-up value for step s (s < warmup): reaches base at the end of warm-up.
float warm(float base, int64_t s, int64_t warmup) {
    return base * static_cast<float>(s + 1) / static_cast<float>(warmup);
}
}  // namespace

float CosineSchedule::lr_at(int64_t step) const {
    if (step < warmup_steps) return warm(base_lr, step, warmup_steps);
    const int64_t span = total_steps - warmup_steps;
    if (span <= 0 || step >= total_steps) return min_lr;
    const double progress = static_cast<double>(step - warmup_steps) / static_cast<double>(span);
    return min_lr + static_cast<float>(0.5 * (1.0 + std::cos(M_PI * progress))) * (base_lr - min_lr);
}

float StepSchedule::lr_at(int64_t step) const {
    if (step < warmup_steps) return warm(base_lr, step, warmup_steps);
    const int64_t k = step_size > 0 ? (step - warmup_steps) / step_size : 0;
    return base_lr * static_cast<float>(std::pow(static_cast<double>(gamma), static_cast<double>(k)));
}

float clip_grad_norm(const std::vector<Var>& params, float max_norm) {
    double ss = 0;
    for (const Var& p : params) {
        if (!p.has_grad()) continue;
        const float* g = p.grad().data<float>();
        for (int64_t i = 0; i < p.numel(); ++i) ss += static_cast<double>(g[i]) * g[i];
    }
    const float norm = static_cast<float>(std::sqrt(ss));
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
        for (const Var& p : params) {
            if (!p.has_grad()) continue;
            float* g = const_cast<Var&>(p).grad_buffer().data<float>();
            for (int64_t i = 0; i < p.numel(); ++i) g[i] *= coef;
        }
    return norm;
}

}  // namespace tern::nn
