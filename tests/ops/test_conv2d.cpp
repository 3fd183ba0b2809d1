// ops::Conv2d against a naive seven-loop convolution in double, on every
// path it chooses (im2col + GEMM, direct, depthwise 3x3 and general kernels, and portable (dilated)),
// with groups, stride 2, padding, dilation and bias; and its validation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "ops/conv2d.h"

namespace tern::ops {
namespace {

struct Conv2dCase {
    const char* name;
    int64_t N, C, H, W, O, KH, KW;
    Conv2dParams p;
    bool bias;
    ConvPath want;
};

std::vector<float> naive(const Conv2dCase& c, const std::vector<float>& x, const std::vector<float>& w,
                         const std::vector<float>& b, int64_t OH, int64_t OW) {
    const int64_t G = c.p.groups, Cg = c.C / G, Og = c.O / G;
    std::vector<float> y(static_cast<size_t>(c.N * c.O * OH * OW));
    for (int64_t n = 0; n < c.N; ++n)
        for (int64_t o = 0; o < c.O; ++o)
            for (int64_t oy = 0; oy < OH; ++oy)
                for (int64_t ox = 0; ox < OW; ++ox) {
                    double s = c.bias ? b[o] : 0.0;
                    const int64_t grp = o / Og;
                    for (int64_t ci = 0; ci < Cg; ++ci)
                        for (int64_t ky = 0; ky < c.KH; ++ky)
                            for (int64_t kx = 0; kx < c.KW; ++kx) {
                                const int64_t iy = oy * c.p.stride_h - c.p.pad_h + ky * c.p.dilation_h;
                                const int64_t ix = ox * c.p.stride_w - c.p.pad_w + kx * c.p.dilation_w;
                                if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
                                const int64_t cin = grp * Cg + ci;
                                s += double(x[((n * c.C + cin) * c.H + iy) * c.W + ix]) *
                                     w[((o * Cg + ci) * c.KH + ky) * c.KW + kx];
                            }
                    y[((n * c.O + o) * OH + oy) * OW + ox] = static_cast<float>(s);
                }
    return y;
}

void check(const Conv2dCase& c) {
    std::mt19937 rng(static_cast<uint32_t>(c.C * 131 + c.O * 7 + c.KH));
    std::normal_distribution<float> nd;
    std::vector<float> x(static_cast<size_t>(c.N * c.C * c.H * c.W)), w(static_cast<size_t>(c.O * (c.C / c.p.groups) * c.KH * c.KW)),
        b(static_cast<size_t>(c.O));
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = nd(rng);
    for (auto& v : b) v = nd(rng);
    const Conv2d op(c.C, c.H, c.W, c.O, c.KH, c.KW, c.p, w.data(), c.bias ? b.data() : nullptr);
    EXPECT_EQ(op.path(), c.want) << c.name << ": " << conv_path_name(op.path());
    const int64_t OH = op.out_h(), OW = op.out_w();
    std::vector<float> y(static_cast<size_t>(c.N * c.O * OH * OW), -7.0f);
    std::vector<float> scratch(static_cast<size_t>(op.scratch_floats(c.N)), 123.0f);  // dirty scratch
    const std::vector<float> w_kept = w;
    w.assign(w.size(), 0.0f);  // the op keeps its own copy
    op.run(x.data(), y.data(), c.N, scratch.data());
    const std::vector<float> want = naive(c, x, w_kept, b, OH, OW);
    double worst = 0;
    for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, double(std::fabs(y[i] - want[i])));
    EXPECT_LT(worst, 1e-4) << c.name;
    // A second run over the same scratch gives the same bits.
    std::vector<float> y2(y.size());
    op.run(x.data(), y2.data(), c.N, scratch.data());
    EXPECT_EQ(y, y2) << c.name;
}

TEST(OpsConv2d, EveryPathMatchesNaiveLoops) {
    Conv2dParams s1p1;
    s1p1.pad_h = s1p1.pad_w = 1;
    Conv2dParams s2p1 = s1p1;
    s2p1.stride_h = s2p1.stride_w = 2;
    Conv2dParams grouped = s1p1;
    grouped.groups = 2;
    Conv2dParams dw = s1p1;
    dw.groups = 8;
    Conv2dParams dw_s2 = s2p1;
    dw_s2.groups = 8;
    Conv2dParams dw5 = dw;  // 5x5 depthwise, pad 2: the general depthwise kernel
    dw5.pad_h = dw5.pad_w = 2;
    Conv2dParams dw_s21 = dw;  // stride (2, 1), PP-OCR's: the general kernel
    dw_s21.stride_h = 2;
    Conv2dParams dw_mult;  // channel multiplier 2 (O = 2C), dilation 2
    dw_mult.groups = 4, dw_mult.dilation_h = dw_mult.dilation_w = 2, dw_mult.pad_h = 2, dw_mult.pad_w = 1;
    Conv2dParams plain;
    Conv2dParams wide = s2p1;  // many channels: im2col at stride 2
    const Conv2dCase cases[] = {
        {"direct 3x3 pad 1", 2, 3, 9, 11, 5, 3, 3, s1p1, true, ConvPath::direct},
        {"direct 5x5 no pad", 3, 1, 12, 12, 6, 5, 5, plain, false, ConvPath::direct},
        {"im2col stride 2 pad 1", 2, 3, 9, 10, 5, 3, 3, s2p1, true, ConvPath::im2col_gemm},
        {"im2col many channels", 2, 24, 7, 7, 16, 3, 3, wide, true, ConvPath::im2col_gemm},
        {"pointwise 1x1", 3, 16, 5, 6, 20, 1, 1, plain, true, ConvPath::im2col_gemm},
        {"grouped 2", 2, 6, 8, 8, 4, 3, 3, grouped, true, ConvPath::im2col_gemm},
        {"depthwise 3x3", 2, 8, 10, 9, 8, 3, 3, dw, true, ConvPath::depthwise},
        {"depthwise 3x3 stride 2", 2, 8, 11, 12, 8, 3, 3, dw_s2, false, ConvPath::depthwise},
        {"depthwise 5x5", 2, 8, 9, 9, 8, 5, 5, dw5, true, ConvPath::depthwise},
        {"depthwise 3x3 stride (2, 1)", 2, 8, 11, 13, 8, 3, 3, dw_s21, true, ConvPath::depthwise},
        {"depthwise x2 dilated", 1, 4, 9, 8, 8, 3, 3, dw_mult, true, ConvPath::depthwise},
    };
    for (const Conv2dCase& c : cases) check(c);
}

TEST(OpsConv2d, BadShapesThrowAtCreate) {
    const std::vector<float> w(1000, 1.0f);
    Conv2dParams p;
    p.groups = 3;  // 4 channels do not split into 3 groups
    EXPECT_THROW(Conv2d(4, 8, 8, 6, 3, 3, p, w.data(), nullptr), InputError);
    p = {};
    p.stride_h = 0;
    EXPECT_THROW(Conv2d(4, 8, 8, 6, 3, 3, p, w.data(), nullptr), InputError);
    p = {};
    p.pad_w = -1;
    EXPECT_THROW(Conv2d(4, 8, 8, 6, 3, 3, p, w.data(), nullptr), InputError);
    p = {};
    EXPECT_THROW(Conv2d(4, 2, 8, 6, 3, 3, p, w.data(), nullptr), InputError);  // kernel taller than the input
    p.stride_h = 2;
    EXPECT_THROW(Conv2d(4, 2, 8, 6, 3, 3, p, w.data(), nullptr), InputError);  // also at stride 2
    EXPECT_THROW(Conv2d(4, 8, 8, 6, 3, 3, {}, nullptr, nullptr), InputError);
    EXPECT_THROW(Conv2d(0, 8, 8, 6, 3, 3, {}, w.data(), nullptr), InputError);
}

}  // namespace
}  // namespace tern::ops
