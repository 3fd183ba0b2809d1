// conv2d: im2col + sgemm for dense/grouped convolutions (1x1 stride 1 skips
// im2col). Two direct paths where im2col would be mostly overhead: depthwise
// (one input channel per group, ops_conv_depthwise.cpp) and stride-1 dense
// convolutions with few channels (ops_conv_direct.cpp).
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/conv_geom.h"
#include "nn/matmul_backend.h"
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/row_reduce.h"

namespace tern::nn {

using detail::ConvGeom;

namespace {

// x_g: (Cg, H, W) -> cols: (Cg*KH*KW, OH*OW); out-of-image taps are zero.
// Each cols row is one tap; along a row only the edges need zeros, so the
// middle is a block copy (stride 1) or a strided gather, without per-element
// bounds checks.
void im2col(const ConvGeom& g, const float* x, float* cols) {
    const int64_t sw = g.p.stride_w;
    for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
                float* row = cols + ((c * g.KH + ky) * g.KW + kx) * g.ohw();
                const int64_t off = kx * g.p.dilation_w - g.p.pad_w;  // ix = ox*sw + off
                int64_t lo, hi;
                detail::valid_range(g.W, sw, off, g.OW, lo, hi);
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dilation_h;
                    float* r = row + oy * g.OW;
                    if (iy < 0 || iy >= g.H) {
                        std::memset(r, 0, sizeof(float) * g.OW);
                        continue;
                    }
                    const float* xr = x + (c * g.H + iy) * g.W;
                    std::memset(r, 0, sizeof(float) * lo);
                    if (sw == 1)
                        std::memcpy(r + lo, xr + lo + off, sizeof(float) * (hi - lo));
                    else
                        for (int64_t ox = lo; ox < hi; ++ox) r[ox] = xr[ox * sw + off];
                    std::memset(r + hi, 0, sizeof(float) * (g.OW - hi));
                }
            }
}

// The transpose of im2col: dx_g (Cg, H, W) += scatter of dcols.
void col2im_add(const ConvGeom& g, const float* cols, float* dx) {
    const int64_t sw = g.p.stride_w;
    for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t ky = 0; ky < g.KH; ++ky)
            for (int64_t kx = 0; kx < g.KW; ++kx) {
                const float* row = cols + ((c * g.KH + ky) * g.KW + kx) * g.ohw();
                const int64_t off = kx * g.p.dilation_w - g.p.pad_w;
                int64_t lo, hi;
                detail::valid_range(g.W, sw, off, g.OW, lo, hi);
                for (int64_t oy = 0; oy < g.OH; ++oy) {
                    const int64_t iy = oy * g.p.stride_h - g.p.pad_h + ky * g.p.dilation_h;
                    if (iy < 0 || iy >= g.H) continue;
                    float* xr = dx + (c * g.H + iy) * g.W;
                    const float* r = row + oy * g.OW;
                    if (sw == 1)
                        for (int64_t ox = lo; ox < hi; ++ox) xr[ox + off] += r[ox];
                    else
                        for (int64_t ox = lo; ox < hi; ++ox) xr[ox * sw + off] += r[ox];
                }
            }
}

using detail::for_image_parts;

Tensor conv_im2col_forward(const ConvGeom& g, const float* x, const float* w, const float* b) {
    Tensor y = Tensor::empty({g.N, g.O, g.OH, g.OW});
    float* py = y.data<float>();
    for_image_parts(g.N, 2 * g.O * g.ckk() * g.ohw(), [&](int, int, int64_t n0, int64_t n1) {
        std::vector<float> cols(g.pointwise() ? 0 : g.ckk() * g.ohw());  // (Cg*KH*KW, OH*OW)
        for (int64_t n = n0; n < n1; ++n)
            for (int64_t grp = 0; grp < g.G; ++grp) {
                const float* xg = x + (n * g.C + grp * g.Cg) * g.H * g.W;
                const float* src = xg;
                if (!g.pointwise()) {
                    im2col(g, xg, cols.data());
                    src = cols.data();
                }
                float* yg = py + (n * g.O + grp * g.Og) * g.ohw();  // (Og, OH*OW)
                sgemm(false, false, g.Og, g.ohw(), g.ckk(), 1.0f, w + grp * g.Og * g.ckk(), g.ckk(), src, g.ohw(),
                      0.0f, yg, g.ohw());
                if (b)
                    for (int64_t o = 0; o < g.Og; ++o) {
                        const float bo = b[grp * g.Og + o];
                        for (int64_t s = 0; s < g.ohw(); ++s) yg[o * g.ohw() + s] += bo;
                    }
            }
    });
    return y;
}

void conv_im2col_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, bool gx_fresh,
                          float* gw, float* gb) {
    const int64_t w_size = g.O * g.ckk();
    // Per-part weight/bias gradient partials, summed in part order afterwards:
    // deterministic for a given thread count.
    const int max_parts = default_pool().size();
    std::vector<std::vector<float>> gw_part(max_parts), gb_part(max_parts);
    const int parts = for_image_parts(g.N, 2 * g.O * g.ckk() * g.ohw(), [&](int part, int, int64_t n0, int64_t n1) {
        std::vector<float> cols(g.pointwise() ? 0 : g.ckk() * g.ohw());   // (Cg*KH*KW, OH*OW)
        std::vector<float> dcols(g.pointwise() ? 0 : g.ckk() * g.ohw());  // (Cg*KH*KW, OH*OW)
        if (gw) gw_part[part].assign(w_size, 0.0f);
        if (gb) gb_part[part].assign(g.O, 0.0f);
        // A fresh gx has no history to add to: 1x1 products overwrite it (beta 0),
        // col2im scatters into a zeroed image.
        if (gx && gx_fresh && !g.pointwise())
            std::memset(gx + n0 * g.C * g.H * g.W, 0, sizeof(float) * (n1 - n0) * g.C * g.H * g.W);
        for (int64_t n = n0; n < n1; ++n)
            for (int64_t grp = 0; grp < g.G; ++grp) {
                const float* xg = x + (n * g.C + grp * g.Cg) * g.H * g.W;
                const float* dyg = gy + (n * g.O + grp * g.Og) * g.ohw();  // (Og, OH*OW)
                const float* wg = w + grp * g.Og * g.ckk();                // (Og, Cg*KH*KW)
                if (gw) {
                    const float* src = xg;
                    if (!g.pointwise()) {
                        im2col(g, xg, cols.data());
                        src = cols.data();
                    }
                    sgemm(false, true, g.Og, g.ckk(), g.ohw(), 1.0f, dyg, g.ohw(), src, g.ohw(), 1.0f,
                          gw_part[part].data() + grp * g.Og * g.ckk(), g.ckk());
                }
                if (gx) {
                    float* dxg = gx + (n * g.C + grp * g.Cg) * g.H * g.W;
                    if (g.pointwise()) {
                        sgemm(true, false, g.ckk(), g.ohw(), g.Og, 1.0f, wg, g.ckk(), dyg, g.ohw(), gx_fresh ? 0.0f : 1.0f,
                              dxg, g.ohw());
                    } else {
                        sgemm(true, false, g.ckk(), g.ohw(), g.Og, 1.0f, wg, g.ckk(), dyg, g.ohw(), 0.0f,
                              dcols.data(), g.ohw());
                        col2im_add(g, dcols.data(), dxg);
                    }
                }
                if (gb)
                    for (int64_t o = 0; o < g.Og; ++o)
                        gb_part[part][grp * g.Og + o] += static_cast<float>(row_sum(dyg + o * g.ohw(), g.ohw()));
            }
    });
    for (int p = 0; p < parts; ++p) {
        if (gw)
            for (int64_t i = 0; i < w_size; ++i) gw[i] += gw_part[p][i];
        if (gb)
            for (int64_t i = 0; i < g.O; ++i) gb[i] += gb_part[p][i];
    }
}

}  // namespace

Var conv2d(const Var& x, const Var& weight, const Var& bias, const Conv2dParams& p) {
    if (x.rank() != 4 || weight.rank() != 4)
        throw Error("conv2d", "need x (N, C, H, W) and weight (O, C/groups, KH, KW), got " +
                                  shape_to_string(x.shape()) + " and " + shape_to_string(weight.shape()));
    ConvGeom g{};
    g.p = p;
    g.N = x.dim(0), g.C = x.dim(1), g.H = x.dim(2), g.W = x.dim(3);
    g.O = weight.dim(0), g.KH = weight.dim(2), g.KW = weight.dim(3), g.G = p.groups;
    if (g.G < 1 || g.C % g.G || g.O % g.G || weight.dim(1) != g.C / g.G)
        throw Error("conv2d", format("groups=%lld does not fit C=%lld, O=%lld, weight C/groups=%lld",
                                     static_cast<long long>(g.G), static_cast<long long>(g.C),
                                     static_cast<long long>(g.O), static_cast<long long>(weight.dim(1))));
    if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 || p.pad_w < 0)
        throw Error("conv2d", "stride and dilation must be >= 1, padding >= 0");
    g.Cg = g.C / g.G, g.Og = g.O / g.G;
    g.OH = (g.H + 2 * p.pad_h - p.dilation_h * (g.KH - 1) - 1) / p.stride_h + 1;
    g.OW = (g.W + 2 * p.pad_w - p.dilation_w * (g.KW - 1) - 1) / p.stride_w + 1;
    if (g.OH < 1 || g.OW < 1) throw Error("conv2d", "kernel larger than the padded input");
    if (bias.defined() && bias.numel() != g.O) throw Error("conv2d", "bias size differs from out channels");
    const bool depthwise = g.Cg == 1 && g.G > 1;
    const bool direct = !depthwise && detail::conv_direct_applies(g);
    const float* b = bias.defined() ? bias.data() : nullptr;
    Tensor y = depthwise ? detail::conv_depthwise_forward(g, x.data(), weight.data(), b)
               : direct  ? detail::conv_direct_forward(g, x.data(), weight.data(), b)
                         : conv_im2col_forward(g, x.data(), weight.data(), b);
    std::vector<Var> parents{x, weight};
    if (bias.defined()) parents.push_back(bias);
    return make_result(y, parents, [x, weight, bias, g, depthwise, direct](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        float* gw = grad_ptr(weight);
        float* gb = grad_ptr(bias);
        if (depthwise)
            detail::conv_depthwise_backward(g, x.data(), weight.data(), gy.data<float>(), gx.data, gx.fresh, gw, gb);
        else if (direct)
            detail::conv_direct_backward(g, x.data(), weight.data(), gy.data<float>(), gx.data, gx.fresh, gw, gb);
        else
            conv_im2col_backward(g, x.data(), weight.data(), gy.data<float>(), gx.data, gx.fresh, gw, gb);
    });
}

}  // namespace tern::nn
