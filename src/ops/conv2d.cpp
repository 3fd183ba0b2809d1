// ops::Conv2d: validation, path choice and the three forward paths. The
// loops are nn's conv2d forward as it was, now on caller buffers.
#include "ops/conv2d.h"

#include <cmath>

#include "core/error.h"
#include "ops/conv_detail.h"
#include "ops/sgemm.h"

namespace tern::ops {

const char* conv_path_name(ConvPath p) {
    switch (p) {
        case ConvPath::im2col_gemm: return "im2col-gemm";
        case ConvPath::direct: return "direct";
        case ConvPath::depthwise: return "depthwise";
    }
    return "?";
}

ConvGeom conv_geometry(int64_t C, int64_t H, int64_t W, int64_t O, int64_t weight_cg, int64_t KH, int64_t KW,
                       const Conv2dParams& p, const char* where) {
    ConvGeom g{};
    g.p = p;
    g.N = 0, g.C = C, g.H = H, g.W = W;
    g.O = O, g.KH = KH, g.KW = KW, g.G = p.groups;
    if (C < 1 || H < 1 || W < 1 || O < 1 || KH < 1 || KW < 1)
        throw InputError(where, format("input (%lld, %lld, %lld) and weight (%lld, _, %lld, %lld) need positive sizes",
                                       (long long)C, (long long)H, (long long)W, (long long)O, (long long)KH,
                                       (long long)KW));
    if (g.G < 1 || g.C % g.G || g.O % g.G || weight_cg != g.C / g.G)
        throw InputError(where, format("groups=%lld does not fit C=%lld, O=%lld, weight C/groups=%lld",
                                       static_cast<long long>(g.G), static_cast<long long>(g.C),
                                       static_cast<long long>(g.O), static_cast<long long>(weight_cg)));
    if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 || p.pad_w < 0)
        throw InputError(where, "stride and dilation must be >= 1, padding >= 0");
    g.Cg = g.C / g.G, g.Og = g.O / g.G;
    g.OH = (g.H + 2 * p.pad_h - p.dilation_h * (g.KH - 1) - 1) / p.stride_h + 1;
    g.OW = (g.W + 2 * p.pad_w - p.dilation_w * (g.KW - 1) - 1) / p.stride_w + 1;
    if (g.H + 2 * p.pad_h - p.dilation_h * (g.KH - 1) - 1 < 0 || g.W + 2 * p.pad_w - p.dilation_w * (g.KW - 1) - 1 < 0 ||
        g.OH < 1 || g.OW < 1)
        throw InputError(where, "kernel larger than the padded input");
    return g;
}

ConvPath choose_conv_path(const ConvGeom& g) {
    if (g.Cg == 1 && g.G > 1) return ConvPath::depthwise;
    if (detail::conv_direct_applies(g)) return ConvPath::direct;
    return ConvPath::im2col_gemm;
}

Conv2d::Conv2d(int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW, const Conv2dParams& p,
               const float* w, const float* bias, Weights mode)
    : g_(conv_geometry(C, H, W, O, p.groups >= 1 ? C / p.groups : 0, KH, KW, p)),
      path_(choose_conv_path(g_)),
      w_(w),
      b_(bias) {
    if (!w) throw InputError("conv2d", "no weights given");
    if (mode == Weights::copy) {
        w_own_.assign(w, w + g_.O * g_.ckk());
        w_ = w_own_.data();
        if (bias) {
            b_own_.assign(bias, bias + g_.O);
            b_ = b_own_.data();
        }
    }
}

int64_t Conv2d::scratch_floats(int64_t N) const {
    ConvGeom g = g_;
    g.N = N;
    switch (path_) {
        case ConvPath::im2col_gemm:
            return g.pointwise() ? 0 : detail::image_parts(N, 2 * g.O * g.ckk() * g.ohw()) * g.ckk() * g.ohw();
        case ConvPath::direct:
            return detail::image_parts(N, 2 * g.O * g.ckk() * g.ohw()) *
                   detail::PaddedImage::floats(g.C, g.H, g.W, g.p.pad_h, g.p.pad_w);
        case ConvPath::depthwise: return 0;
    }
    return 0;
}

void Conv2d::run(const float* x, float* y, int64_t N, float* scratch) const {
    if (N <= 0) return;
    ConvGeom g = g_;
    g.N = N;
    switch (path_) {
        case ConvPath::depthwise: detail::conv_depthwise_forward(g, x, w_, b_, y); return;
        case ConvPath::direct: detail::conv_direct_forward(g, x, w_, b_, y, scratch); return;
        case ConvPath::im2col_gemm: detail::conv_im2col_forward(g, x, w_, b_, y, scratch); return;
    }
}

namespace detail {

namespace {

// y (OH, OW) = b + sum over taps w[ky][kx] * xp[oy*sh + ky*dh][ox*sw + kx*dw],
// taps added in (ky, kx) order.
void forward_plane(const ConvGeom& g, const PaddedPlane& xp, const float* w, float b, float* y) {
    const int64_t sw = g.p.stride_w;
    for (int64_t oy = 0; oy < g.OH; ++oy) {
        float* yr = y + oy * g.OW;
        for (int64_t ox = 0; ox < g.OW; ++ox) yr[ox] = b;
        for (int64_t ky = 0; ky < g.KH; ++ky) {
            const float* xr = xp.row(g, oy, ky);
            for (int64_t kx = 0; kx < g.KW; ++kx) {
                const float wk = w[ky * g.KW + kx];
                const float* xs = xr + kx * g.p.dilation_w;
                if (sw == 1)
                    for (int64_t ox = 0; ox < g.OW; ++ox) yr[ox] += wk * xs[ox];
                else
                    for (int64_t ox = 0; ox < g.OW; ++ox) yr[ox] += wk * xs[ox * sw];
            }
        }
    }
}

}  // namespace

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
                valid_range(g.W, sw, off, g.OW, lo, hi);
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

bool conv_direct_applies(const ConvGeom& g) {
    const Conv2dParams& p = g.p;
    return g.G == 1 && !g.pointwise() && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 &&
           p.dilation_w == 1 && p.pad_h < g.KH && p.pad_w < g.KW && g.C * g.O <= kMaxDirectChannelPairs;
}

void conv_im2col_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* py, float* scratch) {
    for_image_parts(g.N, 2 * g.O * g.ckk() * g.ohw(), [&](int part, int, int64_t n0, int64_t n1) {
        float* cols = g.pointwise() ? nullptr : scratch + part * g.ckk() * g.ohw();  // (Cg*KH*KW, OH*OW)
        for (int64_t n = n0; n < n1; ++n)
            for (int64_t grp = 0; grp < g.G; ++grp) {
                const float* xg = x + (n * g.C + grp * g.Cg) * g.H * g.W;
                const float* src = xg;
                if (!g.pointwise()) {
                    im2col(g, xg, cols);
                    src = cols;
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
}

void conv_direct_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* py, float* scratch) {
    const ConvKernels& k = conv_kernel();
    const int64_t per_part = PaddedImage::floats(g.C, g.H, g.W, g.p.pad_h, g.p.pad_w);
    for_image_parts(g.N, 2 * g.O * g.ckk() * g.ohw(), [&](int part, int, int64_t n0, int64_t n1) {
        PaddedImage xp(g.C, g.H, g.W, g.p.pad_h, g.p.pad_w, scratch + part * per_part);
        for (int64_t n = n0; n < n1; ++n) {
            xp.load(x + n * g.C * g.H * g.W);
            float* yn = py + n * g.O * g.ohw();  // (O, OH, OW)
            if (b)
                for (int64_t o = 0; o < g.O; ++o) std::fill(yn + o * g.ohw(), yn + (o + 1) * g.ohw(), b[o]);
            k.direct_s1({xp.data, g.C, xp.Hp, xp.Wp, w, g.O, g.KH, g.KW, yn, g.OH, g.OW, b != nullptr});
        }
    });
}

void conv_depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* py) {
    const ConvKernels& k = conv_kernel();
    const bool fast = fast3x3(g), any = !fast && dw_any_fits(g);
    // One task per (image, output channel) plane.
    const Dw3x3Geom dg = dw_geom(g);
    const DwGeom ag = dw_any_geom(g);
    parallel_items(g.N * g.O, 2 * g.ohw() * g.KH * g.KW, [&](int64_t i0, int64_t i1) {
        if (fast || any) {
            for (int64_t i = i0; i < i1; ++i) {
                const int64_t n = i / g.O, o = i % g.O;
                const float* xp = x + (n * g.C + o / g.Og) * g.H * g.W;
                if (fast) k.dw3x3(dg, xp, w + o * 9, b ? b[o] : 0.0f, py + i * g.ohw(), false);
                else k.dw_any(ag, xp, w + o * g.KH * g.KW, b ? b[o] : 0.0f, py + i * g.ohw());
            }
            return;
        }
        // The portable path's padded plane, one per thread, reused: only its
        // border must be zero, and the first load() of the chunk rewrites the rest.
        thread_local std::vector<float> plane_buf;
        PaddedPlane xp(ConvGeom{});
        xp.Hp = g.H + 2 * g.p.pad_h, xp.Wp = g.W + 2 * g.p.pad_w;
        plane_buf.assign(static_cast<size_t>(xp.Hp * xp.Wp), 0.0f);
        xp.data.swap(plane_buf);
        int64_t loaded = -1;  // input plane now in xp (consecutive outputs of a group share it)
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t n = i / g.O, o = i % g.O;
            const int64_t plane = n * g.C + o / g.Og;
            if (plane != loaded) {
                xp.load(g, x + plane * g.H * g.W);
                loaded = plane;
            }
            forward_plane(g, xp, w + o * g.KH * g.KW, b ? b[o] : 0.0f, py + i * g.ohw());
        }
        xp.data.swap(plane_buf);
    });
}

}  // namespace detail

}  // namespace tern::ops
