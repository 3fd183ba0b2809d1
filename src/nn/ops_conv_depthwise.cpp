// Depthwise conv2d (one input channel per group, Og = O / C outputs each),
// forward and backward as direct loops over zero-padded planes: with the
// padding materialised, every tap is a whole-row multiply-add with no bounds
// checks, which the compiler vectorises along the row.
#include <cstring>
#include <vector>

#include "nn/conv_geom.h"
#include "nn/parallel.h"
#include "nn/row_reduce.h"

namespace tern::nn::detail {

namespace {

// The padded copy of one input plane: (Hp, Wp) with the image at (ph, pw).
struct PaddedPlane {
    int64_t Hp, Wp;
    std::vector<float> data;  // (Hp, Wp)

    explicit PaddedPlane(const ConvGeom& g)
        : Hp(g.H + 2 * g.p.pad_h), Wp(g.W + 2 * g.p.pad_w), data(static_cast<size_t>(Hp * Wp), 0.0f) {}

    // Only the interior changes between planes; the zero border stays.
    void load(const ConvGeom& g, const float* x) {
        for (int64_t y = 0; y < g.H; ++y)
            std::memcpy(data.data() + (y + g.p.pad_h) * Wp + g.p.pad_w, x + y * g.W, sizeof(float) * g.W);
    }
    // Row of the padded plane that output row oy reads through tap row ky.
    const float* row(const ConvGeom& g, int64_t oy, int64_t ky) const {
        return data.data() + (oy * g.p.stride_h + ky * g.p.dilation_h) * Wp;
    }
};

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

}  // namespace

Tensor conv_depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b) {
    Tensor y = Tensor::empty({g.N, g.O, g.OH, g.OW});
    float* py = y.data<float>();
    // One task per (image, output channel) plane.
    parallel_items(g.N * g.O, 2 * g.ohw() * g.KH * g.KW, [&](int64_t i0, int64_t i1) {
        PaddedPlane xp(g);
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
    });
    return y;
}

void conv_depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             bool gx_fresh, float* gw, float* gb) {
    const int64_t taps = g.KH * g.KW;
    // Parallel over input channels: each task owns dx of its channel and the
    // weight/bias gradients of the Og output channels reading it, so the sums
    // over the batch run in a fixed order whatever the thread count.
    parallel_items(g.C, 6 * g.N * g.Og * g.ohw() * taps, [&](int64_t c0, int64_t c1) {
        PaddedPlane xp(g);
        std::vector<float> dxp(gx ? xp.data.size() : 0);  // (Hp, Wp) padded dx of one plane
        std::vector<double> gw_acc(static_cast<size_t>(g.Og * taps)), gb_acc(static_cast<size_t>(g.Og));
        for (int64_t c = c0; c < c1; ++c) {
            std::fill(gw_acc.begin(), gw_acc.end(), 0.0);
            std::fill(gb_acc.begin(), gb_acc.end(), 0.0);
            for (int64_t n = 0; n < g.N; ++n) {
                const int64_t plane = n * g.C + c;
                if (gw) xp.load(g, x + plane * g.H * g.W);
                if (gx) std::fill(dxp.begin(), dxp.end(), 0.0f);
                for (int64_t j = 0; j < g.Og; ++j) {
                    const int64_t o = c * g.Og + j;
                    const float* dy = gy + (n * g.O + o) * g.ohw();
                    if (gw)
                        for (int64_t ky = 0; ky < g.KH; ++ky)
                            for (int64_t kx = 0; kx < g.KW; ++kx)
                                gw_acc[j * taps + ky * g.KW + kx] += tap_dot(g, xp, dy, ky, kx);
                    if (gb) gb_acc[j] += row_sum(dy, g.ohw());
                    if (gx) backward_data_plane(g, xp.Wp, w + o * taps, dy, dxp.data());
                }
                if (gx) {
                    // Crop the padded gradient back onto the image.
                    float* dst = gx + plane * g.H * g.W;
                    for (int64_t yy = 0; yy < g.H; ++yy) {
                        const float* src = dxp.data() + (yy + g.p.pad_h) * xp.Wp + g.p.pad_w;
                        float* d = dst + yy * g.W;
                        if (gx_fresh)
                            std::memcpy(d, src, sizeof(float) * g.W);
                        else
                            for (int64_t xx = 0; xx < g.W; ++xx) d[xx] += src[xx];
                    }
                }
            }
            for (int64_t j = 0; j < g.Og; ++j) {
                const int64_t o = c * g.Og + j;
                if (gw)
                    for (int64_t t = 0; t < taps; ++t) gw[o * taps + t] += static_cast<float>(gw_acc[j * taps + t]);
                if (gb) gb[o] += static_cast<float>(gb_acc[j]);
            }
        }
    });
}

}  // namespace tern::nn::detail
