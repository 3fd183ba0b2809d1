// 2-D pooling on NCHW: max (argmax saved for backward), average, global average.
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {

struct PoolGeom {
    int64_t planes, H, W, OH, OW;
    Pool2dParams p;
};

PoolGeom pool_geom(const Var& x, const Pool2dParams& p, const char* op) {
    if (x.rank() != 4) throw Error(op, "need (N, C, H, W), got " + shape_to_string(x.shape()));
    if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1)
        throw Error(op, "kernel and stride must be >= 1");
    if (p.pad_h < 0 || p.pad_w < 0 || 2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
        throw Error(op, "padding must be in [0, kernel/2]");
    PoolGeom g{x.dim(0) * x.dim(1), x.dim(2), x.dim(3), 0, 0, p};
    g.OH = (g.H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
    g.OW = (g.W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
    if (g.OH < 1 || g.OW < 1) throw Error(op, "kernel larger than the padded input");
    return g;
}

}  // namespace

namespace {

// One plane of max pooling, any window: argmax (OH, OW) indexes the plane's
// H*W. First maximum wins; the first NaN wins and sticks, as in PyTorch.
// Branch-free updates: which tap wins is data-dependent and unpredictable.
void max_pool_plane(const PoolGeom& g, const float* xp, float* yp, int32_t* ap) {
    const Pool2dParams& p = g.p;
    for (int64_t oy = 0; oy < g.OH; ++oy)
        for (int64_t ox = 0; ox < g.OW; ++ox) {
            float best = 0.0f;
            int32_t best_i = -1;
            for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
                const int64_t iy = oy * p.stride_h - p.pad_h + ky;
                if (iy < 0 || iy >= g.H) continue;
                for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                    const int64_t ix = ox * p.stride_w - p.pad_w + kx;
                    if (ix < 0 || ix >= g.W) continue;
                    const float v = xp[iy * g.W + ix];
                    const bool take = (best_i < 0) | (v > best) | ((v != v) & (best == best));
                    best = take ? v : best;
                    best_i = take ? static_cast<int32_t>(iy * g.W + ix) : best_i;
                }
            }
            yp[oy * g.OW + ox] = best;
            ap[oy * g.OW + ox] = best_i;
        }
}

// The common 2x2 / stride 2 / no padding case, written so the compiler can
// vectorise along a row (same tap order and tie rule as max_pool_plane).
void max_pool_plane_2x2(const PoolGeom& g, const float* xp, float* yp, int32_t* ap) {
    for (int64_t oy = 0; oy < g.OH; ++oy) {
        const float* r0 = xp + 2 * oy * g.W;  // input rows 2*oy, 2*oy + 1
        const float* r1 = r0 + g.W;
        float* y = yp + oy * g.OW;
        int32_t* a = ap + oy * g.OW;
        const int32_t base = static_cast<int32_t>(2 * oy * g.W);
        const int32_t w = static_cast<int32_t>(g.W);
        for (int64_t ox = 0; ox < g.OW; ++ox) {
            const int32_t i0 = base + 2 * static_cast<int32_t>(ox);
            float best = r0[2 * ox];
            int32_t bi = i0;
            const float v1 = r0[2 * ox + 1], v2 = r1[2 * ox], v3 = r1[2 * ox + 1];
            bool t = (v1 > best) | ((v1 != v1) & (best == best));
            best = t ? v1 : best;
            bi = t ? i0 + 1 : bi;
            t = (v2 > best) | ((v2 != v2) & (best == best));
            best = t ? v2 : best;
            bi = t ? i0 + w : bi;
            t = (v3 > best) | ((v3 != v3) & (best == best));
            best = t ? v3 : best;
            bi = t ? i0 + w + 1 : bi;
            y[ox] = best;
            a[ox] = bi;
        }
    }
}

}  // namespace

Var max_pool2d(const Var& x, const Pool2dParams& p) {
    const PoolGeom g = pool_geom(x, p, "max_pool2d");
    Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.OH, g.OW});
    // argmax: (planes, OH, OW), index into the plane's H*W
    auto argmax = std::make_shared<std::vector<int32_t>>(g.planes * g.OH * g.OW);
    const float* px = x.data();
    float* py = y.data<float>();
    int32_t* pa = argmax->data();
    const bool two_by_two = p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 &&
                            p.pad_h == 0 && p.pad_w == 0;
    const int64_t plane_out = g.OH * g.OW;
    parallel_items(g.planes, plane_out * p.kernel_h * p.kernel_w, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            if (two_by_two)
                max_pool_plane_2x2(g, px + c * g.H * g.W, py + c * plane_out, pa + c * plane_out);
            else
                max_pool_plane(g, px + c * g.H * g.W, py + c * plane_out, pa + c * plane_out);
        }
    });
    return make_result(y, {x}, [x, g, argmax](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        const float* d = gy.data<float>();
        const int32_t* pa = argmax->data();
        const int64_t plane_out = g.OH * g.OW, plane_in = g.H * g.W;
        parallel_items(g.planes, 2 * plane_in, [&](int64_t c0, int64_t c1) {
            // Inputs no window picked get zero; overlapping windows may pick one twice.
            if (gx.fresh) std::memset(gx.data + c0 * plane_in, 0, sizeof(float) * (c1 - c0) * plane_in);
            for (int64_t c = c0; c < c1; ++c) {
                float* gp = gx.data + c * plane_in;
                for (int64_t i = 0; i < plane_out; ++i) gp[pa[c * plane_out + i]] += d[c * plane_out + i];
            }
        });
    });
}

Var avg_pool2d(const Var& x, const Pool2dParams& p) {
    const PoolGeom g = pool_geom(x, p, "avg_pool2d");
    Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.OH, g.OW});
    const float inv = 1.0f / static_cast<float>(p.kernel_h * p.kernel_w);  // padding counts
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(g.planes, g.OH * g.OW * p.kernel_h * p.kernel_w, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const float* xp = px + c * g.H * g.W;
            for (int64_t oy = 0; oy < g.OH; ++oy)
                for (int64_t ox = 0; ox < g.OW; ++ox) {
                    float s = 0.0f;
                    for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
                        const int64_t iy = oy * p.stride_h - p.pad_h + ky;
                        if (iy < 0 || iy >= g.H) continue;
                        for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                            const int64_t ix = ox * p.stride_w - p.pad_w + kx;
                            if (ix >= 0 && ix < g.W) s += xp[iy * g.W + ix];
                        }
                    }
                    py[(c * g.OH + oy) * g.OW + ox] = s * inv;
                }
        }
    });
    return make_result(y, {x}, [x, g, inv](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* d = gy.data<float>();
        const Pool2dParams& p = g.p;
        parallel_items(g.planes, g.OH * g.OW * p.kernel_h * p.kernel_w, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                float* gp = gx + c * g.H * g.W;
                for (int64_t oy = 0; oy < g.OH; ++oy)
                    for (int64_t ox = 0; ox < g.OW; ++ox) {
                        const float v = d[(c * g.OH + oy) * g.OW + ox] * inv;
                        for (int64_t ky = 0; ky < p.kernel_h; ++ky) {
                            const int64_t iy = oy * p.stride_h - p.pad_h + ky;
                            if (iy < 0 || iy >= g.H) continue;
                            for (int64_t kx = 0; kx < p.kernel_w; ++kx) {
                                const int64_t ix = ox * p.stride_w - p.pad_w + kx;
                                if (ix >= 0 && ix < g.W) gp[iy * g.W + ix] += v;
                            }
                        }
                    }
            }
        });
    });
}

Var global_avg_pool2d(const Var& x) {
    if (x.rank() != 4) throw Error("global_avg_pool2d", "need (N, C, H, W), got " + shape_to_string(x.shape()));
    const int64_t planes = x.dim(0) * x.dim(1), hw = x.dim(2) * x.dim(3);
    Tensor y = Tensor::empty({x.dim(0), x.dim(1)});
    const float* px = x.data();
    float* py = y.data<float>();
    for (int64_t c = 0; c < planes; ++c) {
        double s = 0;
        for (int64_t i = 0; i < hw; ++i) s += px[c * hw + i];
        py[c] = static_cast<float>(s / static_cast<double>(hw));
    }
    return make_result(y, {x}, [x, planes, hw](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* d = gy.data<float>();
        const float inv = 1.0f / static_cast<float>(hw);
        for (int64_t c = 0; c < planes; ++c)
            for (int64_t i = 0; i < hw; ++i) gx[c * hw + i] += d[c] * inv;
    });
}

}  // namespace tern::nn
