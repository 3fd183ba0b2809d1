#include "prune/schedule.h"

#include <algorithm>
#include <cmath>

namespace tern::prune {

double agp_sparsity(double s_i, double s_f, int64_t t, int64_t t0, int64_t n, int64_t dt) {
    const int64_t span = std::max<int64_t>(1, n * dt);
    const double progress = std::clamp(static_cast<double>(t - t0) / static_cast<double>(span), 0.0, 1.0);
    const double r = 1.0 - progress;
    return s_f + (s_i - s_f) * r * r * r;
}

double target_sparsity(const nn::train::PruneRecipe& p, int64_t step, int64_t spe) {
    const int64_t t0 = (p.start_epoch - 1) * spe;
    if (step < t0) return 0.0;
    if (p.schedule == "oneshot") return p.sparsity;
    const int64_t t1 = (p.end_epoch - 1) * spe;
    if (p.schedule == "iterative") {
        // Round k (1-based) starts at the epoch start_epoch + round((k - 1) * span / (R - 1)).
        const int64_t span_epochs = p.end_epoch - p.start_epoch;
        const int64_t epoch = step / spe + 1;
        int64_t done = 0;
        for (int64_t k = 1; k <= p.rounds; ++k) {
            const int64_t at = p.rounds == 1 ? p.start_epoch
                                             : p.start_epoch + static_cast<int64_t>(std::llround(
                                                                   static_cast<double>((k - 1) * span_epochs) /
                                                                   static_cast<double>(p.rounds - 1)));
            if (epoch >= at) done = k;
        }
        if (done == p.rounds) return p.sparsity;
        return 1.0 - std::pow(1.0 - p.sparsity, static_cast<double>(done) / static_cast<double>(p.rounds));
    }
    // agp: n updates of dt steps between t0 and t1; the value of the last update at or before `step`.
    const int64_t dt = p.frequency_steps;
    const int64_t n = std::max<int64_t>(1, (t1 - t0) / dt);
    const int64_t k = std::min(n, (step - t0) / dt);
    return agp_sparsity(p.initial_sparsity, p.sparsity, t0 + k * dt, t0, n, dt);
}

}  // namespace tern::prune
