#pragma once
// When pruning happens and to what sparsity: the target in force at each
// training step, piecewise constant, so a prune event is a step where it rises.
//   oneshot:   0 before start_epoch, the final sparsity from its first step on.
//   iterative: Han et al. 2015: `rounds` prune-retrain rounds at epoch starts
//              spread from start_epoch to end_epoch; round k of R keeps a
//              fraction (1 - s_f)^(k/R) of the weights (each round removes the
//              same share of what is left), fine-tuning in between.
//   agp:       Zhu & Gupta 2017: s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3,
//              updated every dt steps from t0 (start_epoch's first step) to
//              t0 + n dt (end_epoch's first step), then s_f.
#include <cstdint>

#include "nn/train/recipe.h"

namespace tern::prune {

// The AGP formula at update step t (t >= t0), clamped at t0 + n * dt.
double agp_sparsity(double s_i, double s_f, int64_t t, int64_t t0, int64_t n, int64_t dt);

// The recipe's target sparsity at global step `step` (0-based) with
// `steps_per_epoch` steps an epoch.
double target_sparsity(const nn::train::PruneRecipe& p, int64_t step, int64_t steps_per_epoch);

}  // namespace tern::prune
