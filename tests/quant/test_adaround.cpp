// quant/adaround: learned rounding on synthetic layers. It reconstructs the
// layer's output better than round-to-nearest while every code stays at the
// floor or ceiling of w/s, and it follows a plain PyTorch transcription of the
// paper (tests/ref/adaround_ref.py: autograd on the input rows, torch Adam)
// step by step.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "nn/torch_ref.h"
#include "quant/adaround.h"
#include "ref/reference.h"

namespace tern::quant {
namespace {

// Deterministic pseudo-random numbers in [-1, 1).
struct Lcg {
    uint64_t s;
    float next() {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        return static_cast<float>(s >> 40) / static_cast<float>(1ull << 23) - 1.f;
    }
};

struct Synthetic {
    int64_t channels, k, groups, rows;
    std::vector<float> w, scales, xq, xf;  // xq, xf: (groups, rows, K)
};

// Correlated inputs (a shared component plus noise) so the rounding errors of
// one channel's weights can cancel; x_q = x_f plus a small perturbation (the
// quantized preceding layers). Scales a little above max|w| / qmax so no
// weight sits exactly on the clamp.
Synthetic synthetic(int64_t channels, int64_t k, int64_t groups, int64_t rows, int qmax, uint64_t seed) {
    Lcg r{seed};
    Synthetic s{channels, k, groups, rows, {}, {}, {}, {}};
    for (int64_t i = 0; i < channels * k; ++i) s.w.push_back(0.5f * r.next());
    for (int64_t o = 0; o < channels; ++o) {
        float m = 0;
        for (int64_t i = 0; i < k; ++i) m = std::max(m, std::fabs(s.w[static_cast<size_t>(o * k + i)]));
        s.scales.push_back(1.01f * m / static_cast<float>(qmax));
    }
    for (int64_t g = 0; g < groups; ++g)
        for (int64_t n = 0; n < rows; ++n) {
            const float shared = r.next();
            for (int64_t i = 0; i < k; ++i) {
                const float f = shared + 0.5f * r.next() + 0.2f;
                s.xf.push_back(f);
                s.xq.push_back(f + 0.02f * r.next());
            }
        }
    return s;
}

AdaroundLayer layer_of(const Synthetic& s, int qmax) {
    AdaroundLayer l;
    l.channels = s.channels, l.k = s.k, l.groups = s.groups, l.qmax = qmax;
    l.weights = s.w;
    l.scales = s.scales;
    for (int64_t g = 0; g < s.groups; ++g) {
        const size_t off = static_cast<size_t>(g * s.rows * s.k);
        add_gram_rows(l, g, s.xq.data() + off, s.xf.data() + off, s.rows);
    }
    finish_gram(l, s.rows);
    return l;
}

TEST(Adaround, BeatsNearestReconstructionAndKeepsEachCodeAtFloorOrCeiling) {
    const int qmax = 7;
    const Synthetic s = synthetic(8, 24, 1, 256, qmax, 11);
    const AdaroundLayer l = layer_of(s, qmax);
    AdaroundOptions o;
    o.iterations = 1000;
    const AdaroundResult r = adaround(l, o);
    EXPECT_NEAR(r.rec_nearest, reconstruction_error(l, nearest_codes(l)), 1e-6 * r.rec_nearest);
    EXPECT_LT(r.rec_adaround, 0.7 * r.rec_nearest) << "nearest " << r.rec_nearest << ", adaround " << r.rec_adaround;
    int changed = 0;
    const std::vector<int8_t> nearest = nearest_codes(l);
    for (size_t i = 0; i < r.codes.size(); ++i) {
        const float x = s.w[i] / s.scales[i / static_cast<size_t>(s.k)];
        EXPECT_TRUE(r.codes[i] == std::floor(x) || r.codes[i] == std::ceil(x)) << i << ": " << int(r.codes[i]) << " for " << x;
        EXPECT_LE(std::abs(r.codes[i]), qmax);
        changed += r.codes[i] != nearest[i];
    }
    EXPECT_GT(changed, 0);
    // The annealed regularizer has pushed h(V) to 0 or 1 by the end.
    int undecided = 0;
    for (float h : r.soft) undecided += h > 0.05f && h < 0.95f;
    EXPECT_LT(undecided, static_cast<int>(r.soft.size()) / 10);
}

nn::test::RefCase ref_case(const std::string& name, int64_t channels, int64_t k, int64_t groups, int qmax, int iterations) {
    const Synthetic s = synthetic(channels, k, groups, 48, qmax, 5 + static_cast<uint64_t>(groups));
    nn::test::RefCase c;
    c.name = name;
    AdaroundOptions o;
    c.params = {{"qmax", qmax}, {"iterations", iterations}, {"lr", o.learning_rate}, {"lambda", o.lambda},
                {"beta_start", o.beta_start}, {"beta_end", o.beta_end}, {"warmup", o.warmup}, {"zeta", o.zeta},
                {"gamma", o.gamma}};
    c.inputs = {{"xq", Tensor::from_floats({groups, s.rows, k}, s.xq)},
                {"xf", Tensor::from_floats({groups, s.rows, k}, s.xf)},
                {"w", Tensor::from_floats({channels, k}, s.w)},
                {"s", Tensor::from_floats({channels}, s.scales)}};
    return c;
}

TEST(Adaround, FollowsAPyTorchTranscriptionOfThePaper) {
    const std::vector<nn::test::RefCase> cases = {ref_case("dense_int4", 4, 6, 1, 7, 40),
                                                  ref_case("grouped_int2", 6, 5, 3, 1, 40)};
    const nn::test::TorchRef ref = nn::test::run_torch_cases("adaround_ref.py", cases, "tern_adaround_ref_cache");
    if (ref.outputs.empty()) {
        TERN_REQUIRE_REFERENCE(ref.reference);
    }
    for (const auto& c : cases) {
        const int qmax = c.params["qmax"].get<int>();
        const Tensor &xq = c.input("xq"), &xf = c.input("xf"), &w = c.input("w"), &s = c.input("s");
        AdaroundLayer l;
        l.groups = xq.dim(0), l.channels = w.dim(0), l.k = w.dim(1), l.qmax = qmax;
        l.weights = w.to_floats();
        l.scales = s.to_floats();
        const std::vector<float> q = xq.to_floats(), f = xf.to_floats();
        const int64_t rows = xq.dim(1);
        for (int64_t g = 0; g < l.groups; ++g)
            add_gram_rows(l, g, q.data() + g * rows * l.k, f.data() + g * rows * l.k, rows);
        finish_gram(l, rows);
        AdaroundOptions o;
        o.iterations = c.params["iterations"].get<int>();
        const AdaroundResult r = adaround(l, o);
        ASSERT_TRUE(ref.find(c.name, "loss") && ref.find(c.name, "soft") && ref.find(c.name, "codes")) << c.name;
        const std::vector<float> loss = ref.find(c.name, "loss")->to_floats(), soft = ref.find(c.name, "soft")->to_floats(),
                                 codes = ref.find(c.name, "codes")->to_floats();
        ASSERT_EQ(loss.size(), r.loss.size()) << c.name;
        for (size_t t = 0; t < loss.size(); ++t)
            EXPECT_NEAR(r.loss[t], loss[t], 1e-3 * std::fabs(loss[t]) + 1e-5) << c.name << " iteration " << t;
        for (size_t i = 0; i < soft.size(); ++i) {
            EXPECT_NEAR(r.soft[i], soft[i], 2e-3) << c.name << " weight " << i;
            if (std::fabs(soft[i] - 0.5f) > 0.01f) {
                EXPECT_EQ(r.codes[i], static_cast<int8_t>(codes[i])) << c.name << " weight " << i;
            }
        }
    }
}

TEST(Adaround, RefusesZeroIterationsAndBadLayers) {
    const Synthetic s = synthetic(2, 3, 1, 8, 7, 3);
    AdaroundLayer l = layer_of(s, 7);
    AdaroundOptions o;
    o.iterations = 0;
    EXPECT_THROW(adaround(l, o), UsageError);
    l.scales[1] = 0;
    EXPECT_THROW(adaround(l, {}), InputError);
    l = layer_of(s, 7);
    l.weights[0] = NAN;
    EXPECT_THROW(adaround(l, {}), InputError);
    l = layer_of(s, 7);
    l.gram_qq.pop_back();
    EXPECT_THROW(adaround(l, {}), InputError);
}

}  // namespace
}  // namespace tern::quant
