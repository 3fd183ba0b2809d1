// Every elementwise variant the CPU supports against the scalar reference on
// awkward sizes, with explicit error budgets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "kernels/elementwise/elementwise.h"

namespace tern {
namespace {

std::vector<float> elementwise_randn(int64_t n, uint64_t seed, float scale = 1.0f) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

// Canary-guarded output buffer: kernels must never write past n.
struct ElementwiseGuarded {
    explicit ElementwiseGuarded(int64_t n) : buf(static_cast<size_t>(n) + 32, kCanary), n(n) {}
    float* data() { return buf.data(); }
    bool intact() const {
        for (size_t i = static_cast<size_t>(n); i < buf.size(); ++i)
            if (buf[i] != kCanary) return false;
        return true;
    }
    static constexpr float kCanary = 12345.0f;
    std::vector<float> buf;
    int64_t n;
};

void elementwise_expect_close(const float* got, const float* want, int64_t n, float rel, float abs, const char* what) {
    for (int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(got[i], want[i], abs + rel * std::fabs(want[i])) << what << " at " << i << " of " << n;
    }
}

const int64_t kSizes[] = {1, 3, 7, 16, 17, 33, 255, 4097};

TEST(Elementwise, AllVariantsMatchReference) {
    const auto& ref = kElementwiseScalar;
    for (const ElementwiseKernels* k : elementwise_variants()) {
        SCOPED_TRACE(k->name);
        for (int64_t n : kSizes) {
            const auto x = elementwise_randn(n, 1 + n, 3.0f), w = elementwise_randn(n, 2 + n), b = elementwise_randn(n, 3 + n);
            std::vector<float> want(static_cast<size_t>(n));
            ElementwiseGuarded got(n);

            ref.rmsnorm(x.data(), w.data(), want.data(), n, 1e-5f);
            k->rmsnorm(x.data(), w.data(), got.data(), n, 1e-5f);
            elementwise_expect_close(got.data(), want.data(), n, 2e-6f, 1e-6f, "rmsnorm");

            ref.layernorm(x.data(), w.data(), b.data(), want.data(), n, 1e-5f);
            k->layernorm(x.data(), w.data(), b.data(), got.data(), n, 1e-5f);
            elementwise_expect_close(got.data(), want.data(), n, 1e-5f, 1e-5f, "layernorm");

            ref.silu_mul(x.data(), w.data(), want.data(), n);
            k->silu_mul(x.data(), w.data(), got.data(), n);
            elementwise_expect_close(got.data(), want.data(), n, 2e-6f, 1e-7f, "silu_mul");

            ref.gelu(x.data(), want.data(), n);
            k->gelu(x.data(), got.data(), n);
            elementwise_expect_close(got.data(), want.data(), n, 2e-6f, 2e-7f, "gelu");

            ref.add(x.data(), w.data(), want.data(), n);
            k->add(x.data(), w.data(), got.data(), n);
            elementwise_expect_close(got.data(), want.data(), n, 0, 0, "add");

            std::copy(b.begin(), b.end(), want.begin());
            std::copy(b.begin(), b.end(), got.data());
            ref.axpy(0.7f, x.data(), want.data(), n);
            k->axpy(0.7f, x.data(), got.data(), n);
            elementwise_expect_close(got.data(), want.data(), n, 1e-7f, 1e-7f, "axpy");

            const float dr = ref.dot(x.data(), w.data(), n), dk = k->dot(x.data(), w.data(), n);
            double mag = 0;
            for (int64_t i = 0; i < n; ++i) mag += std::fabs(x[static_cast<size_t>(i)] * w[static_cast<size_t>(i)]);
            EXPECT_NEAR(dk, dr, 1e-6 * mag + 1e-6) << "dot n=" << n;

            // Batch-norm row sums; data offset from zero as activations are.
            std::vector<float> xs(x);
            for (auto& v : xs) v += 2.5f;
            float rs, rq, ks, kq;
            ref.sum_sumsq_shifted(xs.data(), n, 2.4f, &rs, &rq);
            k->sum_sumsq_shifted(xs.data(), n, 2.4f, &ks, &kq);
            double abs_sum = 0, sq = 0;
            for (float v : xs) abs_sum += std::fabs(v - 2.4f), sq += (v - 2.4) * (v - 2.4);
            EXPECT_NEAR(ks, rs, 1e-6 * abs_sum + 1e-6) << "sum_sumsq_shifted s n=" << n;
            EXPECT_NEAR(kq, rq, 1e-6 * sq + 1e-6) << "sum_sumsq_shifted ss n=" << n;
            ref.sum_dot_centered(w.data(), xs.data(), n, 2.45f, &rs, &rq);
            k->sum_dot_centered(w.data(), xs.data(), n, 2.45f, &ks, &kq);
            double abs_w = 0, abs_dot = 0;
            for (int64_t i = 0; i < n; ++i) {
                abs_w += std::fabs(w[static_cast<size_t>(i)]);
                abs_dot += std::fabs(w[static_cast<size_t>(i)] * (xs[static_cast<size_t>(i)] - 2.45));
            }
            EXPECT_NEAR(ks, rs, 1e-6 * abs_w + 1e-6) << "sum_dot_centered sd n=" << n;
            EXPECT_NEAR(kq, rq, 1e-6 * abs_dot + 1e-6) << "sum_dot_centered sdx n=" << n;

            std::copy(x.begin(), x.end(), want.begin());
            std::copy(x.begin(), x.end(), got.data());
            ref.softmax(want.data(), n, 0.125f);
            k->softmax(got.data(), n, 0.125f);
            elementwise_expect_close(got.data(), want.data(), n, 3e-6f, 1e-9f, "softmax");
            EXPECT_TRUE(got.intact()) << "wrote past n=" << n;
        }
    }
}

// Flash-attention tile updates chained over several tiles equal one softmax
// over all keys, for every variant, head sizes with and without vector tails.
// attend_block over a context in 64-key tiles must equal full softmax attention
// over each row's live keys (causal: row r of a block ending at the last key
// sees all keys but the last rows - 1 - r), computed in double.
TEST(Elementwise, AttendBlockChainsToFullSoftmaxAttention) {
    for (const ElementwiseKernels* k : elementwise_variants()) {
        SCOPED_TRACE(k->name);
        for (int64_t hd : {8, 17, 64, 80, 128}) {
            for (int64_t n_keys : {1, 5, 64, 131}) {
                for (int64_t rows : {1, 2, 3, 8}) {
                    if (rows > n_keys) continue;
                    const int64_t ldq = hd + 3;  // rows are strided, as heads in a token's q
                    const auto q = elementwise_randn(rows * ldq, 10 + hd + rows, 1.5f);
                    const auto K = elementwise_randn(n_keys * hd, 20 + n_keys), V = elementwise_randn(n_keys * hd, 30 + n_keys);
                    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
                    std::vector<float> m(static_cast<size_t>(rows), -INFINITY), l(static_cast<size_t>(rows), 0.0f);
                    ElementwiseGuarded o(rows * hd);
                    std::fill(o.data(), o.data() + rows * hd, 0.0f);
                    std::vector<float> s(static_cast<size_t>(rows * 65));
                    std::vector<int64_t> live(static_cast<size_t>(rows));
                    const auto sees = [&](int64_t r) { return n_keys - (rows - 1 - r); };  // keys row r attends to
                    for (int64_t j0 = 0; j0 < n_keys; j0 += 64) {
                        const int64_t nk = std::min<int64_t>(64, n_keys - j0);
                        for (int64_t r = 0; r < rows; ++r) live[size_t(r)] = std::clamp<int64_t>(sees(r) - j0, 0, nk);
                        k->attend_block(q.data(), ldq, rows, live.data(), K.data() + j0 * hd, V.data() + j0 * hd, nk,
                                        hd, scale, m.data(), l.data(), o.data(), s.data());
                    }
                    for (int64_t r = 0; r < rows; ++r) {
                        // Truth in double: softmax over the row's scores, weighted sum of V.
                        const int64_t n = sees(r);
                        std::vector<double> sc(static_cast<size_t>(n));
                        double mx = -1e300, sum = 0;
                        for (int64_t j = 0; j < n; ++j) {
                            double d = 0;
                            for (int64_t i = 0; i < hd; ++i) d += double(q[size_t(r * ldq + i)]) * K[size_t(j * hd + i)];
                            sc[size_t(j)] = d * scale;
                            mx = std::max(mx, sc[size_t(j)]);
                        }
                        for (auto& v : sc) sum += (v = std::exp(v - mx));
                        for (int64_t i = 0; i < hd; ++i) {
                            double want = 0;
                            for (int64_t j = 0; j < n; ++j) want += sc[size_t(j)] / sum * V[size_t(j * hd + i)];
                            ASSERT_NEAR(o.data()[r * hd + i] / l[size_t(r)], want, 2e-6 + 2e-6 * std::fabs(want))
                                << "hd " << hd << " keys " << n_keys << " rows " << rows << " row " << r;
                        }
                    }
                    EXPECT_TRUE(o.intact()) << "wrote past rows x hd, hd=" << hd;
                }
            }
        }
    }
}

TEST(Elementwise, SoftmaxSumsToOneAndHandlesExtremes) {
    for (const ElementwiseKernels* k : elementwise_variants()) {
        std::vector<float> x = {1000.0f, -1000.0f, 0.0f, 999.0f, -INFINITY};
        k->softmax(x.data(), 5, 1.0f);
        float s = 0;
        for (float v : x) s += v;
        EXPECT_NEAR(s, 1.0f, 1e-6f) << k->name;
        EXPECT_NEAR(x[0], 1.0f / (1.0f + std::exp(-1.0f)), 1e-6f) << k->name;
        EXPECT_LT(x[4], 1e-30f) << k->name;
    }
}

TEST(Elementwise, RopeBothLayouts) {
    for (const ElementwiseKernels* k : elementwise_variants()) {
        for (int64_t hd : {2, 8, 64, 80, 128}) {
            const int64_t heads = 3, half = hd / 2;
            std::vector<float> c(static_cast<size_t>(half)), s(static_cast<size_t>(half));
            for (int64_t i = 0; i < half; ++i) {
                const double theta = 17 * std::pow(10000.0, -2.0 * i / hd);
                c[static_cast<size_t>(i)] = static_cast<float>(std::cos(theta));
                s[static_cast<size_t>(i)] = static_cast<float>(std::sin(theta));
            }
            for (bool neox : {false, true}) {
                auto want = elementwise_randn(heads * hd, 9), got = want;
                kElementwiseScalar.rope(want.data(), c.data(), s.data(), heads, hd, neox);
                k->rope(got.data(), c.data(), s.data(), heads, hd, neox);
                elementwise_expect_close(got.data(), want.data(), heads * hd, 1e-6f, 1e-6f, "rope");
            }
        }
    }
}

TEST(Elementwise, RopeReferenceRotatesPairs) {
    // A rotation by theta of (1, 0) is (cos, sin): checks the reference itself.
    std::vector<float> x = {1.0f, 0.0f, 0.0f, 1.0f};
    const float c[2] = {std::cos(0.5f), std::cos(0.25f)}, s[2] = {std::sin(0.5f), std::sin(0.25f)};
    kElementwiseScalar.rope(x.data(), c, s, 1, 4, false);
    EXPECT_FLOAT_EQ(x[0], std::cos(0.5f));
    EXPECT_FLOAT_EQ(x[1], std::sin(0.5f));
    EXPECT_FLOAT_EQ(x[2], -std::sin(0.25f));
    EXPECT_FLOAT_EQ(x[3], std::cos(0.25f));
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

// Every f16 bit pattern, then floats around every f16 rounding boundary: each
// variant widens exactly and narrows bit-identically to core/half.h (NaNs only
// need to stay NaN). Lengths cover the vector body and the scalar tail.
TEST(Elementwise, HalfConversionsAreBitIdenticalToCoreHalf) {
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
    std::vector<float> floats;
    for (uint32_t h = 0; h < 0x7c00; h += 7) {  // f16 values, the midpoints to the next, and a hair either side
        const float a = fp16_to_fp32(static_cast<uint16_t>(h)), b = fp16_to_fp32(static_cast<uint16_t>(h + 1));
        const float mid = 0.5f * (a + b);
        for (float v : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f), 70000.0f, 1e-9f}) {
            floats.push_back(v);
            floats.push_back(-v);
        }
    }
    floats.push_back(std::numeric_limits<float>::infinity());
    floats.push_back(std::numeric_limits<float>::quiet_NaN());
    for (const auto* k : elementwise_variants())
        for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(all.size())}) {
            std::vector<float> wide(static_cast<size_t>(n));
            k->f16_to_f32(all.data() + all.size() - n, wide.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                const float want = fp16_to_fp32(all[all.size() - n + i]);
                if (std::isnan(want))
                    ASSERT_TRUE(std::isnan(wide[i])) << k->name;
                else
                    ASSERT_EQ(std::memcmp(&wide[i], &want, 4), 0) << k->name << " f16 " << all[all.size() - n + i];
            }
            const int64_t m = std::min<int64_t>(n + 3, static_cast<int64_t>(floats.size()));
            std::vector<uint16_t> narrow(static_cast<size_t>(m));
            k->f32_to_f16(floats.data(), narrow.data(), m);
            for (int64_t i = 0; i < m; ++i) {
                const uint16_t want = fp32_to_fp16(floats[i]);
                if ((want & 0x7c00) == 0x7c00 && (want & 0x3ff))
                    ASSERT_TRUE((narrow[i] & 0x7c00) == 0x7c00 && (narrow[i] & 0x3ff)) << k->name;
                else
                    ASSERT_EQ(narrow[i], want) << k->name << " f32 " << floats[i];
            }
        }
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

// The activations promise the scalar reference's exact bits on every ISA (the
// graph runtime's prepared and reference runs rely on it), NaN, infinities and
// signed zeros included.
TEST(Elementwise, ActivationsAreBitIdenticalToReference) {
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    const ActParams cases[] = {
        {ActKind::relu, 0, 0, 0, 1},          {ActKind::clip, 0.f, 6.f, 0, 1},
        {ActKind::clip, -1.5f, 0.25f, 0, 1},  {ActKind::hard_sigmoid, 0.2f, 0.5f, 0, 1},
        {ActKind::hard_swish, 1.f / 6.f, 0.5f, 0, 1}, {ActKind::leaky_relu, 0.1f, 0, 0, 1},
        {ActKind::hard_swish_div, 3.f, 0.f, 6.f, 6.f},
    };
    for (const auto* k : elementwise_variants())
        for (const ActParams& p : cases)
            for (int64_t n : kSizes) {
                SCOPED_TRACE(testing::Message() << k->name << " kind " << static_cast<int>(p.kind) << " n " << n);
                std::vector<float> x = elementwise_randn(n, 40 + n, 4.0f);
                const float special[] = {nan, -nan, inf, -inf, 0.f, -0.f, 3.f, -3.f, 6.f, 1e30f, -1e30f, 2.5f};
                for (size_t i = 0; i < x.size(); i += 5) x[i] = special[(i / 5) % 12];
                std::vector<float> want = x;
                kElementwiseScalar.activate(p, want.data(), n);
                ElementwiseGuarded got(n);
                std::copy(x.begin(), x.end(), got.data());
                k->activate(p, got.data(), n);
                for (int64_t i = 0; i < n; ++i) {
                    if (std::isnan(want[i]))
                        ASSERT_TRUE(std::isnan(got.data()[i])) << "at " << i << " x " << x[i];
                    else
                        ASSERT_EQ(std::memcmp(&got.data()[i], &want[i], 4), 0)
                            << "at " << i << " x " << x[i] << " got " << got.data()[i] << " want " << want[i];
                }
                EXPECT_TRUE(got.intact());
            }
}

}  // namespace
}  // namespace tern
