#pragma once
// Shared helpers for the nn tests: seeded random Vars and a central
// finite-difference gradient check.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "nn/autograd.h"
#include "nn/ops.h"
#include "nn/random.h"

namespace tern::nn::test {

inline Tensor random_tensor(const Shape& shape, Rng& rng, float scale = 1.0f) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = scale * rng.normal();
    return t;
}

inline Var random_var(const Shape& shape, Rng& rng, float scale = 1.0f, bool requires_grad = true) {
    return Var(random_tensor(shape, rng, scale), requires_grad);
}

// Checks d(sum(f(inputs) * R))/d(input) from backward against central
// differences in fp32 with step h; R is a fixed random projection so every
// output element matters with a different weight. At most `max_checks`
// elements per input are probed (spread evenly) to keep the suite quick.
inline void expect_grads_match_fd(const std::string& what, const std::function<Var(const std::vector<Var>&)>& f,
                                  std::vector<Var> inputs, float h = 1e-2f, double atol = 2e-3,
                                  double rtol = 2e-2, int64_t max_checks = 48) {
    for (Var& v : inputs) v.zero_grad();
    Var out = f(inputs);
    Rng rng(1234);
    Tensor r = random_tensor(out.shape(), rng);
    auto project = [&](const Var& o) {
        double s = 0;
        for (int64_t i = 0; i < o.numel(); ++i) s += static_cast<double>(o.data()[i]) * r.data<float>()[i];
        return s;
    };
    Var loss = sum(mul(out, Var(r)));
    loss.backward();
    NoGradGuard no_grad;
    for (size_t k = 0; k < inputs.size(); ++k) {
        Var& x = inputs[k];
        if (!x.requires_grad()) continue;
        ASSERT_TRUE(x.has_grad()) << what << ": input " << k << " got no gradient";
        const int64_t n = x.numel();
        const int64_t step = std::max<int64_t>(1, n / max_checks);
        for (int64_t i = 0; i < n; i += step) {
            float* p = x.data() + i;
            const float saved = *p;
            *p = saved + h;
            const double lp = project(f(inputs));
            *p = saved - h;
            const double lm = project(f(inputs));
            *p = saved;
            const double fd = (lp - lm) / (2.0 * h);
            const double an = x.grad().data<float>()[i];
            EXPECT_NEAR(an, fd, atol + rtol * std::fabs(fd)) << what << ": input " << k << " element " << i;
        }
    }
}

// max |a - b| / max |b|: error relative to the reference's scale.
inline double rel_err(const float* a, const float* b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; ++i) {
        md = std::max(md, std::fabs(static_cast<double>(a[i]) - b[i]));
        mb = std::max(mb, std::fabs(static_cast<double>(b[i])));
    }
    return mb > 0 ? md / mb : md;
}

}  // namespace tern::nn::test
