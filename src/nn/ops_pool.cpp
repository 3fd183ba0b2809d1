// 2-D pooling on NCHW: max (argmax saved for backward), average, global average.
#include <bit>
#include <cmath>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/conv/conv.h"
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

// v where keep, else +0, by masking bits: the winning tap is random, so a
// select the compiler turns into a branch would mispredict 3 times in 4.
inline float keep_if(float v, bool keep) {
    return std::bit_cast<float>(std::bit_cast<uint32_t>(v) & (0u - static_cast<uint32_t>(keep)));
}

}  // namespace

Var max_pool2d(const Var& x, const Pool2dParams& p) {
    const PoolGeom g = pool_geom(x, p, "max_pool2d");
    Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.OH, g.OW});
    // The common 2x2 / stride-2 / unpadded case runs the SIMD kernel and keeps
    // the winning tap (2*ky + kx); other windows keep the index into the plane.
    const bool two_by_two = p.kernel_h == 2 && p.kernel_w == 2 && p.stride_h == 2 && p.stride_w == 2 &&
                            p.pad_h == 0 && p.pad_w == 0;
    auto argmax = std::make_shared<std::vector<int32_t>>(g.planes * g.OH * g.OW);  // (planes, OH, OW)
    const float* px = x.data();
    float* py = y.data<float>();
    int32_t* pa = argmax->data();
    const int64_t plane_out = g.OH * g.OW, plane_in = g.H * g.W;
    const ConvKernels& k = conv_kernel();
    parallel_items(g.planes, plane_out * p.kernel_h * p.kernel_w, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            if (two_by_two)
                k.maxpool2x2(px + c * plane_in, g.W, py + c * plane_out, pa + c * plane_out, g.OH, g.OW);
            else
                max_pool_plane(g, px + c * plane_in, py + c * plane_out, pa + c * plane_out);
        }
    });
    return make_result(y, {x}, [x, g, argmax, two_by_two](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        const float* d = gy.data<float>();
        const int32_t* pa = argmax->data();
        const int64_t plane_out = g.OH * g.OW, plane_in = g.H * g.W;
        parallel_items(g.planes, 2 * plane_in, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                float* gp = gx.data + c * plane_in;
                const float* dp = d + c * plane_out;
                const int32_t* ap = pa + c * plane_out;
                if (two_by_two && gx.fresh && g.H == 2 * g.OH && g.W == 2 * g.OW) {
                    // Windows tile the plane: write every input once, no zero-fill.
                    for (int64_t oy = 0; oy < g.OH; ++oy) {
                        float* r0 = gp + 2 * oy * g.W;
                        float* r1 = r0 + g.W;
                        for (int64_t ox = 0; ox < g.OW; ++ox) {
                            const float v = dp[oy * g.OW + ox];
                            const int32_t t = ap[oy * g.OW + ox];
                            r0[2 * ox] = keep_if(v, t == 0);
                            r0[2 * ox + 1] = keep_if(v, t == 1);
                            r1[2 * ox] = keep_if(v, t == 2);
                            r1[2 * ox + 1] = keep_if(v, t == 3);
                        }
                    }
                    continue;
                }
                // Inputs no window picked get zero; overlapping windows may pick one twice.
                if (gx.fresh) std::memset(gp, 0, sizeof(float) * plane_in);
                if (two_by_two)
                    for (int64_t oy = 0; oy < g.OH; ++oy)
                        for (int64_t ox = 0; ox < g.OW; ++ox) {
                            const int32_t t = ap[oy * g.OW + ox];
                            gp[(2 * oy + t / 2) * g.W + 2 * ox + t % 2] += dp[oy * g.OW + ox];
                        }
                else
                    for (int64_t i = 0; i < plane_out; ++i) gp[ap[i]] += dp[i];
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
