// ops::Pool: one plane per task, windows clipped to the plane.
#include "ops/pool.h"

#include "core/error.h"
#include "kernels/conv/conv.h"
#include "ops/parallel.h"

namespace tern::ops {

float plane_mean(const float* x, int64_t n) {
    if (n <= 0) return 0.0f;
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; ++k) s[k] += x[i + k];
    for (int k = 0; i < n; ++i, ++k) s[k] += x[i];
    return static_cast<float>(((s[0] + s[1]) + (s[2] + s[3])) / double(n));
}

Pool::Pool(PoolKind kind, int64_t H, int64_t W, const Pool2dParams& p) : kind_(kind), H_(H), W_(W), p_(p) {
    if (H < 1 || W < 1) throw InputError("pool", format("plane %lldx%lld: need at least 1x1", (long long)H, (long long)W));
    if (kind == PoolKind::global_avg) {
        OH_ = OW_ = 1;
        return;
    }
    if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1)
        throw InputError("pool", "kernel and stride must be >= 1");
    if (p.pad_h < 0 || p.pad_w < 0 || 2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
        throw InputError("pool", "padding must be in [0, kernel/2]");
    if (H + 2 * p.pad_h < p.kernel_h || W + 2 * p.pad_w < p.kernel_w)
        throw InputError("pool", "kernel larger than the padded input");
    OH_ = (H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
    OW_ = (W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
}

void Pool::run(const float* x, float* y, int64_t planes) const {
    const int64_t hw = H_ * W_, ohw = OH_ * OW_;
    const int64_t cost = kind_ == PoolKind::global_avg ? hw : ohw * p_.kernel_h * p_.kernel_w;
    // Max pooling with strides of 1 or 2 runs on the conv kernel, its rule exactly.
    const bool max_kernel = kind_ == PoolKind::max && p_.kernel_w <= kDwMaxKw && (p_.stride_h == 1 || p_.stride_h == 2) &&
                            (p_.stride_w == 1 || p_.stride_w == 2);
    const DwGeom g{H_, W_, p_.pad_h, p_.pad_w, static_cast<int>(p_.stride_h), static_cast<int>(p_.stride_w),
                   p_.kernel_h, p_.kernel_w, OH_, OW_};
    parallel_items(planes, cost, [&](int64_t p0, int64_t p1) {
        for (int64_t pl = p0; pl < p1; ++pl) {
            const float* xp = x + pl * hw;
            float* yp = y + pl * ohw;
            if (kind_ == PoolKind::global_avg) {
                yp[0] = plane_mean(xp, hw);
                continue;
            }
            if (max_kernel) {
                conv_kernel().maxpool_any(g, xp, yp);
                continue;
            }
            const float inv_taps = 1.0f / static_cast<float>(p_.kernel_h * p_.kernel_w);
            for (int64_t oy = 0; oy < OH_; ++oy)
                for (int64_t ox = 0; ox < OW_; ++ox) {
                    float best = 0.0f, sum = 0.0f;
                    bool any = false;
                    for (int64_t ky = 0; ky < p_.kernel_h; ++ky) {
                        const int64_t iy = oy * p_.stride_h - p_.pad_h + ky;
                        if (iy < 0 || iy >= H_) continue;
                        for (int64_t kx = 0; kx < p_.kernel_w; ++kx) {
                            const int64_t ix = ox * p_.stride_w - p_.pad_w + kx;
                            if (ix < 0 || ix >= W_) continue;
                            const float v = xp[iy * W_ + ix];
                            sum += v;
                            const bool take = !any || v > best || (v != v && best == best);
                            best = take ? v : best;
                            any = true;
                        }
                    }
                    yp[oy * OW_ + ox] = kind_ == PoolKind::max ? best : sum * inv_taps;
                }
        }
    });
}

}  // namespace tern::ops
