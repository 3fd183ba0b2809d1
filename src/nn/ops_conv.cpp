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
#include "ops/conv2d.h"
#include "nn/ops.h"
#include "nn/parallel.h"
#include "nn/row_reduce.h"

namespace tern::nn {

using detail::ConvGeom;

namespace {

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
using detail::im2col;

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
    // Checks the weight's C/groups, which ops::Conv2d takes as given.
    ops::conv_geometry(x.dim(1), x.dim(2), x.dim(3), weight.dim(0), weight.dim(1), weight.dim(2), weight.dim(3), p);
    if (bias.defined() && bias.numel() != weight.dim(0)) throw Error("conv2d", "bias size differs from out channels");
    const float* b = bias.defined() ? bias.data() : nullptr;
    // The weights are read during this call only: borrowed, not copied.
    const ops::Conv2d op(x.dim(1), x.dim(2), x.dim(3), weight.dim(0), weight.dim(2), weight.dim(3), p, weight.data(), b,
                         ops::Conv2d::Weights::borrow);
    ConvGeom g = op.geometry();
    g.N = x.dim(0);
    Tensor y = Tensor::empty({g.N, g.O, g.OH, g.OW});
    std::vector<float> scratch(static_cast<size_t>(op.scratch_floats(g.N)));
    op.run(x.data(), y.data<float>(), g.N, scratch.data());
    const bool depthwise = op.path() == ops::ConvPath::depthwise;
    const bool direct = op.path() == ops::ConvPath::direct;
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
