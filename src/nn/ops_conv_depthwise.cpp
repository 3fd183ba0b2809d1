// Depthwise conv2d backward (one input channel per group, Og = O / C outputs
// each; the forward is ops::Conv2d). 3x3 kernels at stride 1 or 2
// (MobileNet's) run the SIMD kernels in kernels/conv, which pad implicitly.
// Other shapes run the portable loops below over zero-padded copies of each
// plane: with the padding materialised every tap is a whole-row multiply-add
// the compiler vectorises.
#include <cstring>
#include <vector>

#include "kernels/conv/conv.h"
#include "nn/conv_geom.h"
#include "nn/parallel.h"
#include "nn/row_reduce.h"

namespace tern::nn::detail {

namespace {

// sum over the plane of dy[oy][ox] * xp[oy*sh + ky*dh][ox*sw + kx*dw]: one
// weight tap's gradient from one plane. Eight float lanes along the row (the
// compiler vectorises them); a plane has at most a few thousand terms.
float tap_dot(const ConvGeom& g, const PaddedPlane& xp, const float* dy, int64_t ky, int64_t kx) {
    constexpr int kLanes = 8;
    const int64_t sw = g.p.stride_w;
    float acc[kLanes] = {};
    float tail = 0.0f;
    for (int64_t oy = 0; oy < g.OH; ++oy) {
        const float* d = dy + oy * g.OW;
        const float* xs = xp.row(g, oy, ky) + kx * g.p.dilation_w;
        int64_t ox = 0;
        if (sw == 1) {
            for (; ox + kLanes <= g.OW; ox += kLanes)
                for (int j = 0; j < kLanes; ++j) acc[j] += d[ox + j] * xs[ox + j];
        } else {
            for (; ox + kLanes <= g.OW; ox += kLanes)
                for (int j = 0; j < kLanes; ++j) acc[j] += d[ox + j] * xs[(ox + j) * sw];
        }
        for (; ox < g.OW; ++ox) tail += d[ox] * xs[ox * sw];
    }
    for (int j = 0; j < kLanes; ++j) tail += acc[j];
    return tail;
}

// dxp (padded, same layout as PaddedPlane) += the transpose of forward_plane.
void backward_data_plane(const ConvGeom& g, int64_t Wp, const float* w, const float* dy, float* dxp) {
    const int64_t sw = g.p.stride_w;
    for (int64_t oy = 0; oy < g.OH; ++oy) {
        const float* d = dy + oy * g.OW;
        for (int64_t ky = 0; ky < g.KH; ++ky) {
            float* xr = dxp + (oy * g.p.stride_h + ky * g.p.dilation_h) * Wp;
            for (int64_t kx = 0; kx < g.KW; ++kx) {
                const float wk = w[ky * g.KW + kx];
                float* xs = xr + kx * g.p.dilation_w;
                if (sw == 1)
                    for (int64_t ox = 0; ox < g.OW; ++ox) xs[ox] += wk * d[ox];
                else
                    for (int64_t ox = 0; ox < g.OW; ++ox) xs[ox * sw] += wk * d[ox];
            }
        }
    }
}

// Stride-1 input gradient as a forward pass: dx = flip(w) * pad(dy, 2 - p).
bool fast3x3_data(const ConvGeom& g) { return fast3x3(g) && g.p.stride_h == 1 && g.p.pad_h <= 2 && g.p.pad_w <= 2; }

}  // namespace

void conv_depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             bool gx_fresh, float* gw, float* gb) {
    const int64_t taps = g.KH * g.KW;
    const ConvKernels& k = conv_kernel();
    const bool fast = fast3x3(g), fast_data = fast3x3_data(g);
    // Flipped kernels for the stride-1 input gradient.
    std::vector<float> wflip(fast_data ? static_cast<size_t>(g.O * 9) : 0);
    for (int64_t o = 0; fast_data && o < g.O; ++o)
        for (int t = 0; t < 9; ++t) wflip[o * 9 + t] = w[o * 9 + (8 - t)];
    const Dw3x3Geom dg = dw_geom(g);
    // dx as a stride-1 forward pass over dy (oh, ow) padded by 2 - p: output (H, W).
    const Dw3x3Geom dgx{g.OH, g.OW, 2 - g.p.pad_h, 2 - g.p.pad_w, 1, g.H, g.W};
    // Per-plane weight and bias sums, (N, O, taps) and (N, O), reduced over the
    // batch afterwards in image order: the result does not depend on the
    // thread count, and the planes are walked in memory order (a channel-major
    // walk jumps a whole image between planes and misses cache on every one).
    std::vector<float> w_part(gw ? static_cast<size_t>(g.N * g.O * taps) : 0);
    std::vector<double> b_part(gb ? static_cast<size_t>(g.N * g.O) : 0);
    parallel_items(g.N * g.C, 6 * g.Og * g.ohw() * taps, [&](int64_t p0, int64_t p1) {
        // Only the portable paths need padded copies.
        PaddedPlane xp(fast && fast_data ? ConvGeom{} : g);
        std::vector<float> dxp(gx && !fast_data ? xp.data.size() : 0);  // (Hp, Wp) padded dx of one plane
        for (int64_t plane = p0; plane < p1; ++plane) {  // plane = n * C + c
            const int64_t n = plane / g.C, c = plane % g.C;
            const float* xc = x + plane * g.H * g.W;
            float* dx = gx ? gx + plane * g.H * g.W : nullptr;
            if (gw && !fast) xp.load(g, xc);
            if (dx && !fast_data) std::fill(dxp.begin(), dxp.end(), 0.0f);
            for (int64_t j = 0; j < g.Og; ++j) {
                const int64_t o = c * g.Og + j;
                const float* dy = gy + (n * g.O + o) * g.ohw();
                if (gw) {
                    float* part = w_part.data() + (n * g.O + o) * taps;
                    if (fast) {
                        std::fill(part, part + 9, 0.0f);
                        k.dw3x3_wgrad(dg, xc, dy, part);
                    } else {
                        for (int64_t ky = 0; ky < g.KH; ++ky)
                            for (int64_t kx = 0; kx < g.KW; ++kx) part[ky * g.KW + kx] = tap_dot(g, xp, dy, ky, kx);
                    }
                }
                if (gb) b_part[n * g.O + o] = row_sum(dy, g.ohw());
                if (!dx) continue;
                if (fast_data)  // the first contribution to a fresh plane overwrites it
                    k.dw3x3(dgx, dy, wflip.data() + o * 9, 0.0f, dx, !(gx_fresh && j == 0));
                else
                    backward_data_plane(g, xp.Wp, w + o * taps, dy, dxp.data());
            }
            if (dx && !fast_data) {
                // Crop the padded gradient back onto the image.
                for (int64_t yy = 0; yy < g.H; ++yy) {
                    const float* src = dxp.data() + (yy + g.p.pad_h) * xp.Wp + g.p.pad_w;
                    float* d = dx + yy * g.W;
                    if (gx_fresh)
                        std::memcpy(d, src, sizeof(float) * g.W);
                    else
                        for (int64_t xx = 0; xx < g.W; ++xx) d[xx] += src[xx];
                }
            }
        }
    });
    if (gw) {
        std::vector<double> acc(static_cast<size_t>(g.O * taps), 0.0);
        for (int64_t n = 0; n < g.N; ++n)
            for (int64_t i = 0; i < g.O * taps; ++i) acc[i] += w_part[n * g.O * taps + i];
        for (int64_t i = 0; i < g.O * taps; ++i) gw[i] += static_cast<float>(acc[i]);
    }
    if (gb)
        for (int64_t o = 0; o < g.O; ++o) {
            double s = 0;
            for (int64_t n = 0; n < g.N; ++n) s += b_part[n * g.O + o];
            gb[o] += static_cast<float>(s);
        }
}

}  // namespace tern::nn::detail
