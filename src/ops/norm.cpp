// ops::Norm: rms / layer rows through kernels/elementwise, batch norm folded.
#include "ops/norm.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/elementwise/elementwise.h"

namespace tern::ops {

namespace {

void check_size(const char* what, std::span<const float> v, int64_t n) {
    if (static_cast<int64_t>(v.size()) != n)
        throw InputError("norm", format("%s has %zu values for %lld features", what, v.size(), (long long)n));
}

void check_common(int64_t features, float eps) {
    if (features < 1) throw InputError("norm", format("%lld features: need at least 1", (long long)features));
    if (!std::isfinite(eps) || eps < 0.0f) throw InputError("norm", format("eps %g must be finite and >= 0", double(eps)));
}

}  // namespace

Norm::Norm(NormKind kind, int64_t features, float eps)
    : kind_(kind), features_(features), eps_(eps), ew_(&elementwise_kernel()) {}

Norm Norm::rms(int64_t features, std::span<const float> weight, float eps) {
    check_common(features, eps);
    check_size("weight", weight, features);
    Norm n(NormKind::rms, features, eps);
    n.a_.assign(weight.begin(), weight.end());
    return n;
}

Norm Norm::layer(int64_t features, std::span<const float> weight, std::span<const float> bias, float eps) {
    check_common(features, eps);
    check_size("weight", weight, features);
    check_size("bias", bias, features);
    Norm n(NormKind::layer, features, eps);
    n.a_.assign(weight.begin(), weight.end());
    n.b_.assign(bias.begin(), bias.end());
    return n;
}

Norm Norm::batch(int64_t channels, int64_t spatial, std::span<const float> gamma, std::span<const float> beta,
                 std::span<const float> mean, std::span<const float> var, float eps) {
    check_common(channels, eps);
    if (spatial < 1) throw InputError("norm", format("spatial size %lld: need at least 1", (long long)spatial));
    check_size("gamma", gamma, channels);
    check_size("beta", beta, channels);
    check_size("running mean", mean, channels);
    check_size("running variance", var, channels);
    for (int64_t c = 0; c < channels; ++c)
        if (!(var[c] + eps > 0.0f) || !std::isfinite(var[c]))
            throw InputError("norm", format("channel %lld: running variance %g (+ eps) is not positive", (long long)c,
                                            double(var[c])));
    Norm n(NormKind::batch, channels * spatial, eps);
    n.spatial_ = spatial;
    n.a_.resize(static_cast<size_t>(channels));
    n.b_.resize(static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
        const double scale = double(gamma[c]) / std::sqrt(double(var[c]) + double(eps));
        n.a_[c] = static_cast<float>(scale);
        n.b_[c] = static_cast<float>(double(beta[c]) - double(mean[c]) * scale);
    }
    return n;
}

void Norm::run_row(const float* x, float* y) const {
    switch (kind_) {
        case NormKind::rms: ew_->rmsnorm(x, a_.data(), y, features_, eps_); return;
        case NormKind::layer: ew_->layernorm(x, a_.data(), b_.data(), y, features_, eps_); return;
        case NormKind::batch:
            for (size_t c = 0; c < a_.size(); ++c) {
                const float s = a_[c], t = b_[c];
                const float* xc = x + static_cast<int64_t>(c) * spatial_;
                float* yc = y + static_cast<int64_t>(c) * spatial_;
                for (int64_t i = 0; i < spatial_; ++i) yc[i] = xc[i] * s + t;
            }
            return;
    }
}

void Norm::run(const float* x, float* y, int64_t rows, ThreadPool& pool) const {
    // Per-row work is tiny for decode: only thread it for batches.
    const int64_t grain = std::max<int64_t>(1, 4096 / features_);
    pool.parallel_for(rows, grain, [&](int64_t rb, int64_t re) {
        for (int64_t r = rb; r < re; ++r) run_row(x + r * features_, y + r * features_);
    });
}

}  // namespace tern::ops
