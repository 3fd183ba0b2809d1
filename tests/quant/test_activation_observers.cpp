// quant/activation_observers: each observer on distributions whose answer is known.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/activation_observers.h"

namespace tern::quant {
namespace {

FloatRange observe_all(ObserverKind kind, const std::vector<std::vector<float>>& batches, ObserverOptions o = {}) {
    auto obs = make_observer(kind, o);
    for (int pass = 0; pass < obs->passes(); ++pass)
        for (const auto& b : batches) obs->observe(b, pass);
    return obs->range();
}

// Mean squared error of quantizing `v` on the grid covering `r`.
double quantization_mse(const std::vector<float>& v, FloatRange r, ActivationGrid g) {
    const QuantParams p = activation_params(r, g);
    double e = 0;
    for (float x : v) {
        const double d = x - dequantize_value(quantize_value(x, p, g), p);
        e += d * d;
    }
    return e / static_cast<double>(v.size());
}

TEST(ActivationObservers, MinMaxCoversEveryBatchAndMovingAverageFollowsSlowly) {
    const std::vector<std::vector<float>> b = {{-1.f, 2.f}, {0.f, 10.f}};
    const FloatRange mm = observe_all(ObserverKind::minmax, b);
    EXPECT_EQ(mm.lo, -1.f);
    EXPECT_EQ(mm.hi, 10.f);
    ObserverOptions o;
    o.averaging_constant = 0.5;
    const FloatRange ma = observe_all(ObserverKind::movingavg, b, o);
    EXPECT_FLOAT_EQ(ma.lo, -0.5f);  // -1 + 0.5 * (0 - -1)
    EXPECT_FLOAT_EQ(ma.hi, 6.f);    // 2 + 0.5 * (10 - 2)
}

TEST(ActivationObservers, PercentileOfAKnownArray) {
    std::vector<float> v(10000);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);  // 0 .. 9999, uniform
    ObserverOptions o;
    o.percentile = 99.0;
    const FloatRange r = observe_all(ObserverKind::percentile, {v}, o);
    EXPECT_NEAR(r.hi, 9900.f, 10.f);  // within a bin (9999 / 2048) of the 99th percentile
    EXPECT_NEAR(r.lo, 100.f, 10.f);
}

TEST(ActivationObservers, KlClipsBelowTheMaxWhenThereAreOutliers) {
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0.f, 1.f);
    std::vector<float> v(50000);
    for (float& x : v) x = std::fabs(n(rng));
    v[0] = 40.f;  // one outlier far from the rest
    const FloatRange r = observe_all(ObserverKind::kl, {v});
    EXPECT_LT(r.hi, 10.f) << "the KL search keeps the outlier";
    EXPECT_GT(r.hi, 2.f) << "the KL search clips into the bulk";
    EXPECT_EQ(r.lo, 0.f);
    // Without outliers (a uniform sample) the whole range is kept.
    std::vector<float> u(50000);
    for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<float>(i) / 50000.f;
    EXPECT_GT(observe_all(ObserverKind::kl, {u}).hi, 0.9f);
}

TEST(ActivationObservers, MseClipBeatsMinMaxOnAHeavyTailedSample) {
    std::mt19937 rng(2);
    std::normal_distribution<double> z(0.0, 1.0);
    std::vector<float> v(20000);
    for (float& x : v) {  // Student's t with 3 degrees of freedom: heavy tails, a bulk the 2048 bins resolve
        const double a = z(rng), b = z(rng), c = z(rng);
        x = static_cast<float>(z(rng) / std::sqrt((a * a + b * b + c * c) / 3));
    }
    const ActivationGrid g{.is_unsigned = false, .symmetric = false};
    ObserverOptions o;
    o.grid = g;
    const FloatRange mm = observe_all(ObserverKind::minmax, {v}, o);
    const FloatRange mse = observe_all(ObserverKind::mse, {v}, o);
    EXPECT_LT(mse.hi - mse.lo, mm.hi - mm.lo);
    EXPECT_LT(quantization_mse(v, mse, g), quantization_mse(v, mm, g)) << "range " << mse.lo << ".." << mse.hi << " vs " << mm.lo << ".." << mm.hi;
}

TEST(ActivationObservers, ParamsHoldZeroExactlyAndRefuseNaN) {
    const QuantParams u = activation_params({0.f, 2.55f}, {});
    EXPECT_EQ(u.zero_point, 0);
    EXPECT_FLOAT_EQ(u.scale, 0.01f);
    const QuantParams s = activation_params({-1.f, 3.f}, {.is_unsigned = false, .symmetric = false});
    EXPECT_EQ(dequantize_value(quantize_value(0.f, s, {.is_unsigned = false}), s), 0.f);
    const QuantParams sym = activation_params({-1.f, 2.54f}, {.is_unsigned = false, .symmetric = true});
    EXPECT_EQ(sym.zero_point, 0);
    EXPECT_FLOAT_EQ(sym.scale, 0.02f);
    EXPECT_EQ(activation_params({0.f, 0.f}, {}).scale, 1.f);  // an all-zero tensor
    for (ObserverKind k : {ObserverKind::minmax, ObserverKind::kl}) {
        auto obs = make_observer(k);
        EXPECT_THROW(obs->observe(std::vector<float>{1.f, NAN}, 0), InputError);
        EXPECT_THROW(make_observer(k)->range(), InputError);  // nothing observed
    }
    EXPECT_THROW(parse_observer_kind("entropy"), UsageError);
    EXPECT_EQ(parse_observer_kind("kl"), ObserverKind::kl);
}

}  // namespace
}  // namespace tern::quant
