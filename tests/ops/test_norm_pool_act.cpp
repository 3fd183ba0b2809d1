// ops::Norm (rms, layer, batch with folded statistics), ops::Pool (max, avg,
// global avg) and ops::Act against naive loops in double, and their
// validation at create.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/gemm_common/activation.h"
#include "ops/activation.h"
#include "ops/norm.h"
#include "ops/pool.h"

namespace tern::ops {
namespace {

std::vector<float> randn(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd;
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]));
    return worst;
}

TEST(OpsNorm, RmsLayerBatchMatchNaive) {
    const int64_t rows = 37, d = 96;
    const float eps = 1e-5f;
    const auto x = randn(static_cast<size_t>(rows * d), 1), w = randn(static_cast<size_t>(d), 2),
               b = randn(static_cast<size_t>(d), 3);
    std::vector<double> want_rms(x.size()), want_ln(x.size());
    for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.data() + r * d;
        double ss = 0, s = 0;
        for (int64_t i = 0; i < d; ++i) ss += double(xr[i]) * xr[i], s += xr[i];
        const double inv_rms = 1.0 / std::sqrt(ss / d + eps), mean = s / d;
        double var = 0;
        for (int64_t i = 0; i < d; ++i) var += (xr[i] - mean) * (xr[i] - mean);
        const double inv_sd = 1.0 / std::sqrt(var / d + eps);
        for (int64_t i = 0; i < d; ++i) {
            want_rms[r * d + i] = xr[i] * inv_rms * w[i];
            want_ln[r * d + i] = (xr[i] - mean) * inv_sd * w[i] + b[i];
        }
    }
    std::vector<float> y(x.size());
    Norm::rms(d, w, eps).run(x.data(), y.data(), rows, default_pool());
    EXPECT_LT(max_abs_diff(y, want_rms), 1e-4);
    Norm::layer(d, w, b, eps).run(x.data(), y.data(), rows, default_pool());
    EXPECT_LT(max_abs_diff(y, want_ln), 1e-4);

    // Batch norm: (N, C, HW) with running statistics.
    const int64_t N = 3, C = 5, HW = 7;
    const auto xb = randn(static_cast<size_t>(N * C * HW), 4), gamma = randn(C, 5), beta = randn(C, 6),
               mean = randn(C, 7);
    std::vector<float> var(C);
    for (int64_t c = 0; c < C; ++c) var[c] = 0.5f + float(c);
    std::vector<double> want_bn(xb.size());
    for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < HW; ++i) {
                const int64_t k = (n * C + c) * HW + i;
                want_bn[k] = (xb[k] - mean[c]) / std::sqrt(double(var[c]) + eps) * gamma[c] + beta[c];
            }
    std::vector<float> yb(xb.size());
    const Norm bn = Norm::batch(C, HW, gamma, beta, mean, var, eps);
    EXPECT_EQ(bn.features(), C * HW);
    bn.run(xb.data(), yb.data(), N, default_pool());
    EXPECT_LT(max_abs_diff(yb, want_bn), 1e-5);
}

TEST(OpsNorm, BadParametersThrowAtCreate) {
    const std::vector<float> four(4, 1.0f), three(3, 1.0f);
    EXPECT_THROW(Norm::rms(4, three, 1e-5f), InputError);
    EXPECT_THROW(Norm::rms(0, {}, 1e-5f), InputError);
    EXPECT_THROW(Norm::rms(4, four, -1.0f), InputError);
    EXPECT_THROW(Norm::layer(4, four, three, 1e-5f), InputError);
    const std::vector<float> neg(4, -1.0f);
    EXPECT_THROW(Norm::batch(4, 2, four, four, four, neg, 1e-5f), InputError);  // negative variance
    EXPECT_THROW(Norm::batch(4, 0, four, four, four, four, 1e-5f), InputError);
}

std::vector<double> naive_pool(PoolKind k, const std::vector<float>& x, int64_t planes, int64_t H, int64_t W,
                               const Pool2dParams& p, int64_t OH, int64_t OW) {
    std::vector<double> y(static_cast<size_t>(planes * OH * OW));
    for (int64_t pl = 0; pl < planes; ++pl)
        for (int64_t oy = 0; oy < OH; ++oy)
            for (int64_t ox = 0; ox < OW; ++ox) {
                double best = -std::numeric_limits<double>::infinity(), sum = 0;
                for (int64_t ky = 0; ky < p.kernel_h; ++ky)
                    for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                        const int64_t iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                        const double v = x[(pl * H + iy) * W + ix];
                        best = std::max(best, v);
                        sum += v;
                    }
                y[(pl * OH + oy) * OW + ox] = k == PoolKind::max ? best : sum / double(p.kernel_h * p.kernel_w);
            }
    return y;
}

TEST(OpsPool, MaxAvgGlobalMatchNaive) {
    const int64_t planes = 6, H = 9, W = 8;
    const auto x = randn(static_cast<size_t>(planes * H * W), 11);
    Pool2dParams two;  // 2x2 stride 2
    Pool2dParams three{3, 3, 2, 2, 1, 1};
    Pool2dParams odd{3, 2, 1, 2, 1, 0};
    for (const Pool2dParams& p : {two, three, odd})
        for (PoolKind k : {PoolKind::max, PoolKind::avg}) {
            const Pool op(k, H, W, p);
            std::vector<float> y(static_cast<size_t>(planes * op.out_h() * op.out_w()));
            op.run(x.data(), y.data(), planes);
            EXPECT_LT(max_abs_diff(y, naive_pool(k, x, planes, H, W, p, op.out_h(), op.out_w())), 1e-5)
                << (k == PoolKind::max ? "max " : "avg ") << p.kernel_h << "x" << p.kernel_w;
        }
    const Pool gap(PoolKind::global_avg, H, W);
    std::vector<float> g(static_cast<size_t>(planes));
    gap.run(x.data(), g.data(), planes);
    for (int64_t pl = 0; pl < planes; ++pl) {
        double s = 0;
        for (int64_t i = 0; i < H * W; ++i) s += x[pl * H * W + i];
        EXPECT_NEAR(g[pl], s / double(H * W), 1e-6);
    }
}

TEST(OpsPool, NanWinsMaxAndBadWindowsThrow) {
    std::vector<float> x = {1, 2, std::nanf(""), 3};  // one 2x2 plane
    float y = 0;
    Pool(PoolKind::max, 2, 2).run(x.data(), &y, 1);
    EXPECT_TRUE(std::isnan(y));
    EXPECT_THROW(Pool(PoolKind::max, 2, 2, Pool2dParams{3, 3, 1, 1, 0, 0}), InputError);  // window > plane
    EXPECT_THROW(Pool(PoolKind::avg, 4, 4, Pool2dParams{2, 2, 0, 1, 0, 0}), InputError);  // stride 0
    EXPECT_THROW(Pool(PoolKind::avg, 4, 4, Pool2dParams{2, 2, 1, 1, 2, 0}), InputError);  // pad > kernel/2
    EXPECT_THROW(Pool(PoolKind::global_avg, 0, 4), InputError);
}

TEST(OpsAct, ActivationsMatchScalarTruth) {
    auto x = randn(10001, 21);
    for (auto& v : x) v *= 5.0f;  // reach relu6's clamp
    for (ActKind k : {ActKind::relu, ActKind::relu6, ActKind::gelu_tanh, ActKind::silu}) {
        std::vector<float> y(x.size());
        Act(k).run(x.data(), y.data(), static_cast<int64_t>(x.size()));
        double worst = 0;
        for (size_t i = 0; i < x.size(); ++i) {
            double want = 0;
            switch (k) {
                case ActKind::relu: want = gemm::activate_ref(x[i], Activation::relu); break;
                case ActKind::relu6: want = std::min(gemm::activate_ref(x[i], Activation::relu), 6.0); break;
                case ActKind::gelu_tanh: want = gemm::activate_ref(x[i], Activation::gelu_tanh); break;
                case ActKind::silu: want = gemm::activate_ref(x[i], Activation::silu); break;
            }
            worst = std::max(worst, std::fabs(y[i] - want) / std::max(1.0, std::fabs(want)));
        }
        EXPECT_LT(worst, 1e-5) << act_name(k);
    }
    std::vector<float> inplace = {-1.0f, 7.0f, 3.0f};
    Act(ActKind::relu6).run(inplace.data(), inplace.data(), 3);
    EXPECT_EQ(inplace, (std::vector<float>{0.0f, 6.0f, 3.0f}));
}

}  // namespace
}  // namespace tern::ops
