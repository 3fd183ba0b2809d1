#pragma once
// Learning-rate schedules as pure functions of the step (0-based), each with a
// linear warm-up from ~0 to base_lr over `warmup_steps`.
#include <cstdint>
#include <vector>

#include "nn/autograd.h"

namespace tern::nn {

struct CosineSchedule {
    float base_lr = 1e-3f;
    float min_lr = 0.0f;
    int64_t warmup_steps = 0;
    int64_t total_steps = 1000;  // cosine reaches min_lr here and stays
    float lr_at(int64_t step) const;
};

struct StepSchedule {
    float base_lr = 1e-1f;
    int64_t warmup_steps = 0;
    int64_t step_size = 30;  // after warm-up, multiply by gamma every step_size steps
    float gamma = 0.1f;
    float lr_at(int64_t step) const;
};

// Scales all gradients so their global L2 norm is at most max_norm (PyTorch
// clip_grad_norm_: coefficient max_norm / (norm + 1e-6)). Returns the norm
// before clipping.
float clip_grad_norm(const std::vector<Var>& params, float max_norm);

}  // namespace tern::nn
