// Scalar references: the plain definitions, the test truth for the SIMD
// variants (taps summed in (c, ky, kx) order, float accumulation).
#include <cmath>

#include "kernels/conv/conv.h"

namespace tern {
namespace {

void direct_s1_ref(const DirectConvArgs& a) {
    for (int64_t o = 0; o < a.O; ++o)
        for (int64_t oy = 0; oy < a.OH; ++oy)
            for (int64_t ox = 0; ox < a.OW; ++ox) {
                float* out = a.y + (o * a.OH + oy) * a.OW + ox;
                float s = a.accumulate ? *out : 0.0f;
                for (int64_t c = 0; c < a.C; ++c)
                    for (int64_t ky = 0; ky < a.KH; ++ky)
                        for (int64_t kx = 0; kx < a.KW; ++kx)
                            s += a.w[((o * a.C + c) * a.KH + ky) * a.KW + kx] *
                                 a.xp[(c * a.Hp + oy + ky) * a.Wp + ox + kx];
                *out = s;
            }
}

void direct_s1_wgrad_ref(const DirectConvWgradArgs& a) {
    for (int64_t o = 0; o < a.O; ++o)
        for (int64_t c = 0; c < a.C; ++c)
            for (int64_t ky = 0; ky < a.KH; ++ky)
                for (int64_t kx = 0; kx < a.KW; ++kx) {
                    double s = 0;
                    for (int64_t n = 0; n < a.N; ++n) {
                        const float* dy = a.dy + (n * a.O + o) * a.OH * a.OW;
                        const float* xp = a.xp + (n * a.C + c) * a.Hp * a.Wp;
                        for (int64_t oy = 0; oy < a.OH; ++oy)
                            for (int64_t ox = 0; ox < a.OW; ++ox)
                                s += static_cast<double>(dy[oy * a.OW + ox]) * xp[(oy + ky) * a.Wp + ox + kx];
                    }
                    a.gw[((o * a.C + c) * a.KH + ky) * a.KW + kx] += static_cast<float>(s);
                }
}

// x[iy][ix], zero outside the plane (the implicit padding).
float at(const Dw3x3Geom& g, const float* x, int64_t iy, int64_t ix) {
    return iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x[iy * g.w + ix] : 0.0f;
}

void dw3x3_ref(const Dw3x3Geom& g, const float* x, const float* w9, float bias, float* y, bool accumulate) {
    for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
            float s = accumulate ? y[oy * g.ow + ox] : bias;
            for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx)
                    s += w9[ky * 3 + kx] * at(g, x, oy * g.stride + ky - g.ph, ox * g.stride + kx - g.pw);
            y[oy * g.ow + ox] = s;
        }
}

void dw_any_ref(const DwGeom& g, const float* x, const float* wk, float bias, float* y) {
    for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
            float s = bias;
            for (int64_t ky = 0; ky < g.kh; ++ky)
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t iy = oy * g.sh + ky - g.ph, ix = ox * g.sw + kx - g.pw;
                    if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) s += wk[ky * g.kw + kx] * x[iy * g.w + ix];
                }
            y[oy * g.ow + ox] = s;
        }
}

void maxpool_any_ref(const DwGeom& g, const float* x, float* y) {
    for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
            float best = 0.0f;
            bool any = false;
            for (int64_t ky = 0; ky < g.kh; ++ky)
                for (int64_t kx = 0; kx < g.kw; ++kx) {
                    const int64_t iy = oy * g.sh + ky - g.ph, ix = ox * g.sw + kx - g.pw;
                    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                    const float v = x[iy * g.w + ix];
                    if (!any || v > best || (std::isnan(v) && !std::isnan(best))) best = v;
                    any = true;
                }
            y[oy * g.ow + ox] = best;
        }
}

void dw3x3_wgrad_ref(const Dw3x3Geom& g, const float* x, const float* dy, float* gw9) {
    for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
            double s = 0;
            for (int64_t oy = 0; oy < g.oh; ++oy)
                for (int64_t ox = 0; ox < g.ow; ++ox)
                    s += static_cast<double>(dy[oy * g.ow + ox]) *
                         at(g, x, oy * g.stride + ky - g.ph, ox * g.stride + kx - g.pw);
            gw9[ky * 3 + kx] += static_cast<float>(s);
        }
}

void maxpool2x2_ref(const float* x, int64_t ldx, float* y, int32_t* code, int64_t oh, int64_t ow) {
    for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
            float best = x[2 * oy * ldx + 2 * ox];
            int32_t c = 0;
            for (int32_t t = 1; t < 4; ++t) {
                const float v = x[(2 * oy + t / 2) * ldx + 2 * ox + t % 2];
                if (v > best || (std::isnan(v) && !std::isnan(best))) {
                    best = v;
                    c = t;
                }
            }
            y[oy * ow + ox] = best;
            code[oy * ow + ox] = c;
        }
}

}  // namespace

const ConvKernels kConvScalar = {
    .name = "conv_f32_scalar",
    .isa = Isa::scalar,
    .direct_s1 = direct_s1_ref,
    .direct_s1_wgrad = direct_s1_wgrad_ref,
    .dw3x3 = dw3x3_ref,
    .dw_any = dw_any_ref,
    .maxpool_any = maxpool_any_ref,
    .dw3x3_wgrad = dw3x3_wgrad_ref,
    .maxpool2x2 = maxpool2x2_ref,
};

}  // namespace tern
