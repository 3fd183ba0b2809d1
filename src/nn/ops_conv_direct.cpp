// Backward of the dense stride-1 conv2d with few channels (LeNet's 1->6 and
// 6->16, a MobileNet stem) as direct loops (kernels/conv; the forward is
// ops::Conv2d): im2col would copy every input KH*KW times and the GEMM would
// pack that copy again, which costs more than the multiply-adds here.
//   forward:        y  = w * pad(x)                                (direct_s1)
//   input gradient: gx = flip(w)^T * pad(dy, K-1-p)                (direct_s1)
//   weight gradient: gw += dy (x) pad(x)                           (direct_s1_wgrad)
#include <cstring>
#include <vector>

#include "kernels/conv/conv.h"
#include "nn/conv_geom.h"
#include "nn/row_reduce.h"

namespace tern::nn::detail {

void conv_direct_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, bool gx_fresh,
                          float* gw, float* gb) {
    const ConvKernels& k = conv_kernel();
    const int64_t w_size = g.O * g.C * g.KH * g.KW;
    // The input gradient is the forward op on dy padded by K-1-p, with the
    // kernel flipped and its channel axes swapped: wt (C, O, KH, KW).
    std::vector<float> wt;
    if (gx) {
        wt.resize(static_cast<size_t>(w_size));
        for (int64_t o = 0; o < g.O; ++o)
            for (int64_t c = 0; c < g.C; ++c)
                for (int64_t ky = 0; ky < g.KH; ++ky)
                    for (int64_t kx = 0; kx < g.KW; ++kx)
                        wt[((c * g.O + o) * g.KH + ky) * g.KW + kx] =
                            w[((o * g.C + c) * g.KH + (g.KH - 1 - ky)) * g.KW + (g.KW - 1 - kx)];
    }
    // Per-part weight/bias partials, summed in part order: deterministic for a
    // given thread count.
    const int max_parts = default_pool().size();
    std::vector<std::vector<float>> gw_part(max_parts), gb_part(max_parts);
    const int parts = for_image_parts(g.N, 4 * g.O * g.ckk() * g.ohw(), [&](int part, int, int64_t n0, int64_t n1) {
        if (gw) gw_part[part].assign(static_cast<size_t>(w_size), 0.0f);
        if (gb) gb_part[part].assign(static_cast<size_t>(g.O), 0.0f);
        // The part's images padded at once, so the weight-gradient kernel sums
        // each weight's lanes once for the whole part rather than per image.
        PaddedImage xp(gw ? (n1 - n0) * g.C : 0, g.H, g.W, g.p.pad_h, g.p.pad_w);
        PaddedImage dyp(gx ? g.O : 0, g.OH, g.OW, g.KH - 1 - g.p.pad_h, g.KW - 1 - g.p.pad_w);
        if (gw) {
            xp.load(x + n0 * g.C * g.H * g.W);
            k.direct_s1_wgrad({xp.data, n1 - n0, g.C, xp.Hp, xp.Wp, gy + n0 * g.O * g.ohw(), g.O, g.OH, g.OW,
                               gw_part[part].data(), g.KH, g.KW});
        }
        for (int64_t n = n0; n < n1; ++n) {
            const float* dyn = gy + n * g.O * g.ohw();  // (O, OH, OW)
            if (gx) {
                dyp.load(dyn);
                k.direct_s1({dyp.data, g.O, dyp.Hp, dyp.Wp, wt.data(), g.C, g.KH, g.KW,
                             gx + n * g.C * g.H * g.W, g.H, g.W, !gx_fresh});
            }
            if (gb)
                for (int64_t o = 0; o < g.O; ++o)
                    gb_part[part][o] += static_cast<float>(row_sum(dyn + o * g.ohw(), g.ohw()));
        }
    });
    for (int p = 0; p < parts; ++p) {
        if (gw)
            for (int64_t i = 0; i < w_size; ++i) gw[i] += gw_part[p][i];
        if (gb)
            for (int64_t i = 0; i < g.O; ++i) gb[i] += gb_part[p][i];
    }
}

}  // namespace tern::nn::detail
