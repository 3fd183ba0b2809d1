// Every conv kernel variant the CPU supports against the scalar reference on
// awkward plane sizes (row tails of 1..W-1 lanes, one-lane rows, rows of
// several vectors), with canaries after every output.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/conv/conv.h"

namespace tern {
namespace {

std::vector<float> conv_randn(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = d(rng);
    return v;
}

constexpr float kConvCanary = 12345.0f;

// n floats followed by canaries; intact() checks nothing was written past n.
struct ConvGuarded {
    explicit ConvGuarded(int64_t n, float fill = 0.0f) : buf(static_cast<size_t>(n) + 40, kConvCanary), n(n) {
        std::fill(buf.begin(), buf.begin() + n, fill);
    }
    float* data() { return buf.data(); }
    bool intact() const {
        for (size_t i = static_cast<size_t>(n); i < buf.size(); ++i)
            if (buf[i] != kConvCanary) return false;
        return true;
    }
    std::vector<float> buf;
    int64_t n;
};

void conv_expect_close(const float* got, const float* want, int64_t n, float tol, const char* what) {
    for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[i], want[i], tol * (1.0f + std::fabs(want[i]))) << what << " at " << i << " of " << n;
}

const int64_t kWidths[] = {1, 5, 7, 16, 17, 28, 33};

TEST(ConvKernels, DirectMatchesReference) {
    struct Case {
        int64_t C, O, K;
    };
    const Case cases[] = {{1, 6, 5}, {6, 16, 5}, {3, 7, 3}, {2, 1, 1}, {1, 3, 2}, {4, 9, 4}};
    for (const ConvKernels* k : conv_variants()) {
        SCOPED_TRACE(k->name);
        for (const Case& cs : cases)
            for (int64_t ow : kWidths) {
                const int64_t oh = 3, Hp = oh + cs.K - 1, Wp = ow + cs.K - 1;
                const auto xp = conv_randn(cs.C * Hp * Wp, 1 + ow), w = conv_randn(cs.O * cs.C * cs.K * cs.K, 2 + ow);
                const auto y0 = conv_randn(cs.O * oh * ow, 3 + ow);
                for (bool acc : {false, true}) {
                    std::vector<float> want = y0;
                    ConvGuarded got(cs.O * oh * ow);
                    std::copy(y0.begin(), y0.end(), got.data());
                    DirectConvArgs a{xp.data(), cs.C, Hp, Wp, w.data(), cs.O, cs.K, cs.K, want.data(), oh, ow, acc};
                    kConvScalar.direct_s1(a);
                    a.y = got.data();
                    k->direct_s1(a);
                    conv_expect_close(got.data(), want.data(), got.n, 1e-5f, "direct_s1");
                    EXPECT_TRUE(got.intact()) << "direct_s1 wrote past the output";
                }
                // Weight gradient over a batch of 3 images.
                const int64_t N = 3;
                const auto xb = conv_randn(N * cs.C * Hp * Wp, 6 + ow);
                const auto dy = conv_randn(N * cs.O * oh * ow, 4 + ow);
                const auto g0 = conv_randn(cs.O * cs.C * cs.K * cs.K, 5 + ow);
                std::vector<float> want = g0;
                ConvGuarded got(static_cast<int64_t>(g0.size()));
                std::copy(g0.begin(), g0.end(), got.data());
                DirectConvWgradArgs g{xb.data(), N, cs.C, Hp, Wp, dy.data(), cs.O, oh, ow, want.data(), cs.K, cs.K};
                kConvScalar.direct_s1_wgrad(g);
                g.gw = got.data();
                k->direct_s1_wgrad(g);
                conv_expect_close(got.data(), want.data(), got.n, 1e-5f, "direct_s1_wgrad");
                EXPECT_TRUE(got.intact());
            }
    }
}

TEST(ConvKernels, Depthwise3x3MatchesReference) {
    for (const ConvKernels* k : conv_variants()) {
        SCOPED_TRACE(k->name);
        for (int stride : {1, 2})
            for (int64_t pad : {0, 1, 2})
                for (int64_t w : {1, 2, 5, 7, 14, 17, 28, 33, 40}) {
                    const int64_t h = 5;
                    const int64_t oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1;
                    if (oh < 1 || ow < 1) continue;
                    SCOPED_TRACE(testing::Message() << "stride " << stride << " pad " << pad << " w " << w);
                    const Dw3x3Geom g{h, w, pad, pad, stride, oh, ow};
                    // The plane is followed by canaries: a tap read past it
                    // would pull them in and show up as a mismatch.
                    ConvGuarded x(h * w);
                    const auto xv = conv_randn(h * w, 10 + w);
                    std::copy(xv.begin(), xv.end(), x.data());
                    const auto w9 = conv_randn(9, 11), dy = conv_randn(oh * ow, 12 + w), y0 = conv_randn(oh * ow, 13 + w);
                    for (bool acc : {false, true}) {
                        std::vector<float> want = y0;
                        ConvGuarded got(oh * ow);
                        std::copy(y0.begin(), y0.end(), got.data());
                        kConvScalar.dw3x3(g, x.data(), w9.data(), 0.25f, want.data(), acc);
                        k->dw3x3(g, x.data(), w9.data(), 0.25f, got.data(), acc);
                        conv_expect_close(got.data(), want.data(), got.n, 1e-5f, "dw3x3");
                        EXPECT_TRUE(got.intact());
                    }
                    std::vector<float> gw_want(9, 0.5f);
                    ConvGuarded gw(9, 0.5f);
                    kConvScalar.dw3x3_wgrad(g, x.data(), dy.data(), gw_want.data());
                    k->dw3x3_wgrad(g, x.data(), dy.data(), gw.data());
                    conv_expect_close(gw.data(), gw_want.data(), 9, 1e-5f, "dw3x3_wgrad");
                    EXPECT_TRUE(gw.intact());
                }
    }
}

// Depthwise of any kernel size and stride pair ((2, 1) is Paddle's OCR models'),
// the plane guarded by canaries as above.
TEST(ConvKernels, DepthwiseAnyKernelMatchesReference) {
    for (const ConvKernels* k : conv_variants()) {
        SCOPED_TRACE(k->name);
        for (int64_t kernel : {1, 2, 3, 5, 7})
            for (int sh : {1, 2})
                for (int sw : {1, 2})
                    for (int64_t pad : {0, 1, 3})
                        for (int64_t w : {1, 3, 6, 9, 16, 17, 31, 40}) {
                            const int64_t h = 7, kh = kernel, kw = kernel == 2 ? 3 : kernel;  // one non-square kernel
                            const int64_t oh = (h + 2 * pad - kh) / sh + 1, ow = (w + 2 * pad - kw) / sw + 1;
                            if (oh < 1 || ow < 1 || h + 2 * pad < kh || w + 2 * pad < kw) continue;
                            SCOPED_TRACE(testing::Message() << "k " << kh << "x" << kw << " stride " << sh << "," << sw
                                                            << " pad " << pad << " w " << w);
                            const DwGeom g{h, w, pad, pad, sh, sw, kh, kw, oh, ow};
                            ConvGuarded x(h * w);
                            const auto xv = conv_randn(h * w, 20 + w);
                            std::copy(xv.begin(), xv.end(), x.data());
                            const auto wk = conv_randn(kh * kw, 21 + kernel);
                            std::vector<float> want(static_cast<size_t>(oh * ow));
                            ConvGuarded got(oh * ow);
                            kConvScalar.dw_any(g, x.data(), wk.data(), 0.25f, want.data());
                            k->dw_any(g, x.data(), wk.data(), 0.25f, got.data());
                            conv_expect_close(got.data(), want.data(), got.n, 1e-5f, "dw_any");
                            EXPECT_TRUE(got.intact());
                        }
    }
}

TEST(ConvKernels, MaxPool2x2MatchesReferenceIncludingTiesAndNaN) {
    for (const ConvKernels* k : conv_variants()) {
        SCOPED_TRACE(k->name);
        for (int64_t ow : kWidths) {
            const int64_t oh = 3, ldx = 2 * ow + 1;  // an odd input width leaves a column unread
            std::vector<float> x = conv_randn(2 * oh * ldx, 20 + ow);
            // Ties (first wins) and NaNs (first NaN wins) at a few places.
            x[1] = x[0];
            if (ow > 2) x[ldx + 4] = NAN, x[ldx + 5] = NAN;
            if (ow > 3) x[7] = NAN;
            std::vector<float> y_want(static_cast<size_t>(oh * ow));
            std::vector<int32_t> c_want(static_cast<size_t>(oh * ow)), c_got(static_cast<size_t>(oh * ow) + 16, -7);
            ConvGuarded y(oh * ow);
            kConvScalar.maxpool2x2(x.data(), ldx, y_want.data(), c_want.data(), oh, ow);
            k->maxpool2x2(x.data(), ldx, y.data(), c_got.data(), oh, ow);
            for (int64_t i = 0; i < oh * ow; ++i) {
                ASSERT_EQ(c_got[i], c_want[i]) << "code at " << i;
                if (std::isnan(y_want[i])) ASSERT_TRUE(std::isnan(y.data()[i])) << i;
                else ASSERT_EQ(y.data()[i], y_want[i]) << i;
            }
            for (size_t i = static_cast<size_t>(oh * ow); i < c_got.size(); ++i) ASSERT_EQ(c_got[i], -7);
            EXPECT_TRUE(y.intact());
        }
    }
}

}  // namespace
}  // namespace tern
