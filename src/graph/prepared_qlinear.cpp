#include "graph/prepared_qlinear.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "graph/op_util.h"
#include "kernels/gemm_q8/gemm_q8.h"
#include "kernels/requant/requant.h"
#include "ops/parallel.h"

namespace tern::graph {

namespace {

bool is_code(DType t) { return t == DType::i8 || t == DType::u8; }

const Tensor* constant(const std::vector<ValueSlot>& slots, const std::vector<int>& in, size_t i) {
    if (i >= in.size() || in[i] < 0) return nullptr;
    const ValueSlot& s = slots[static_cast<size_t>(in[i])];
    if (s.home != ValueSlot::Home::initializer || !s.init->is_contiguous()) return nullptr;
    return s.init;
}

int32_t qlinear_code_at(const Tensor& t, int64_t i) {
    return t.dtype() == DType::i8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
}

// Positive finite f32 scales, one or `count`; empty when they are not (the reference op says why).
std::vector<float> scales_of(const Tensor* t, int64_t count) {
    if (!t || t->dtype() != DType::f32 || (t->numel() != 1 && t->numel() != count)) return {};
    std::vector<float> v(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        v[static_cast<size_t>(i)] = t->data<float>()[t->numel() == 1 ? 0 : i];
        if (!(v[static_cast<size_t>(i)] > 0) || !std::isfinite(v[static_cast<size_t>(i)])) return {};
    }
    return v;
}

struct QLinearGeometry {
    int64_t N, C, H, W, O, KH, KW, sh, sw, dh, dw, pt, pl, OH, OW;
};

// dst[j * ld_dst + i] = src[i * ld_src + j] ^ flip for i < rows, j < cols: the
// byte transpose under 1x1 im2col and rows_to_planes, 8x8 tiles through SSE2
// unpacks (part of x86-64's baseline) and the edges one byte at a time. Done a
// byte per element with a loop per output pixel, the two transposes were a
// third of PP-OCR cls's int8 time.
void qlinear_transpose_codes(const uint8_t* src, int64_t rows, int64_t cols, int64_t ld_src, uint8_t* dst, int64_t ld_dst,
                     uint8_t flip) {
    int64_t i0 = 0;
#if defined(__SSE2__)
    const __m128i f = _mm_set1_epi8(static_cast<char>(flip));
    for (; i0 + 8 <= rows; i0 += 8) {
        int64_t j0 = 0;
        for (; j0 + 8 <= cols; j0 += 8) {
            __m128i a[8];
            for (int r = 0; r < 8; ++r)
                a[r] = _mm_xor_si128(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + (i0 + r) * ld_src + j0)), f);
            const __m128i t0 = _mm_unpacklo_epi8(a[0], a[1]), t1 = _mm_unpacklo_epi8(a[2], a[3]);
            const __m128i t2 = _mm_unpacklo_epi8(a[4], a[5]), t3 = _mm_unpacklo_epi8(a[6], a[7]);
            const __m128i u0 = _mm_unpacklo_epi16(t0, t1), u1 = _mm_unpackhi_epi16(t0, t1);
            const __m128i u2 = _mm_unpacklo_epi16(t2, t3), u3 = _mm_unpackhi_epi16(t2, t3);
            const __m128i v[4] = {_mm_unpacklo_epi32(u0, u2), _mm_unpackhi_epi32(u0, u2), _mm_unpacklo_epi32(u1, u3),
                                  _mm_unpackhi_epi32(u1, u3)};
            for (int q = 0; q < 4; ++q) {  // v[q] holds output rows j0 + 2q (low half) and j0 + 2q + 1 (high half)
                _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + (j0 + 2 * q) * ld_dst + i0), v[q]);
                _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + (j0 + 2 * q + 1) * ld_dst + i0), _mm_unpackhi_epi64(v[q], v[q]));
            }
        }
        for (int64_t i = i0; i < i0 + 8; ++i)
            for (int64_t j = j0; j < cols; ++j) dst[j * ld_dst + i] = static_cast<uint8_t>(src[i * ld_src + j] ^ flip);
    }
#endif
    for (int64_t i = i0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dst[j * ld_dst + i] = static_cast<uint8_t>(src[i * ld_src + j] ^ flip);
}

// im2col of images [b0, b1) into rows (b, oh, ow) of K = C * KH * KW codes as
// u8 (int8 codes shifted by 128, `flip`); outside the image reads `pad`.
// QLinearGeometry is copied into locals: stores through uint8_t* may alias anything,
// so fields read through a reference would be reloaded for every byte.
void im2col(const QLinearGeometry& geo, const uint8_t* x, int64_t b0, int64_t b1, uint8_t flip, uint8_t pad, uint8_t* cols) {
    const int64_t C = geo.C, H = geo.H, W = geo.W, KH = geo.KH, KW = geo.KW, OH = geo.OH, OW = geo.OW;
    const int64_t sh = geo.sh, sw = geo.sw, dh = geo.dh, dw = geo.dw, pt = geo.pt, pl = geo.pl;
    const int64_t K = C * KH * KW, plane = H * W;
    if (KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H && OW == W) {
        for (int64_t b = b0; b < b1; ++b) qlinear_transpose_codes(x + b * C * plane, C, plane, plane, cols + (b - b0) * plane * K, K, flip);
        return;
    }
    for (int64_t b = b0; b < b1; ++b) {
        for (int64_t oh = 0; oh < OH; ++oh) {
            for (int64_t ow = 0; ow < OW; ++ow) {
                uint8_t* row = cols + (((b - b0) * OH + oh) * OW + ow) * K;
                const int64_t ih0 = oh * sh - pt, iw0 = ow * sw - pl;
                if (dw == 1 && ih0 >= 0 && ih0 + (KH - 1) * dh < H && iw0 >= 0 && iw0 + KW <= W) {
                    // The window lies inside the image: each kernel row is KW contiguous codes.
                    for (int64_t c = 0; c < C; ++c) {
                        const uint8_t* src = x + (b * C + c) * plane + iw0;
                        for (int64_t kh = 0; kh < KH; ++kh) {
                            const uint8_t* s = src + (ih0 + kh * dh) * W;
                            for (int64_t kw = 0; kw < KW; ++kw) row[kw] = static_cast<uint8_t>(s[kw] ^ flip);
                            row += KW;
                        }
                    }
                    continue;
                }
                for (int64_t c = 0; c < C; ++c) {
                    const uint8_t* src = x + (b * C + c) * plane;
                    for (int64_t kh = 0; kh < KH; ++kh) {
                        const int64_t ih = ih0 + kh * dh;
                        for (int64_t kw = 0; kw < KW; ++kw) {
                            const int64_t iw = iw0 + kw * dw;
                            const bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                            *row++ = inside ? static_cast<uint8_t>(src[ih * W + iw] ^ flip) : pad;
                        }
                    }
                }
            }
        }
    }
}

// (b, p, o) rows of a gemm's int8 output -> (b, o, p) planes, uint8 codes flipped back.
void rows_to_planes(const int8_t* staged, int64_t images, int64_t P, int64_t O, uint8_t flip, uint8_t* y) {
    const uint8_t* codes = reinterpret_cast<const uint8_t*>(staged);
    for (int64_t b = 0; b < images; ++b) qlinear_transpose_codes(codes + b * P * O, P, O, O, y + b * O * P, P, flip);
}

PreparedStep gemm_step(const QLinearGeometry& g, const Tensor& w, const std::vector<float>& w_scales, float x_scale,
                       float y_scale, int32_t x_zp, int32_t y_zp, bool x_signed, bool y_signed,
                       const Tensor* bias, int x, int y) {
    const int64_t K = g.C * g.KH * g.KW, P = g.OH * g.OW, O = g.O;
    auto packed = std::make_shared<GemmQ8PackedB>(gemm_q8_kernel(), w.data<int8_t>(), K, true, K, O);
    auto wscale = std::make_shared<std::vector<float>>(w_scales);
    auto bias_v = std::make_shared<std::vector<int32_t>>();
    if (bias) bias_v->assign(bias->data<int32_t>(), bias->data<int32_t>() + O);
    const uint8_t flip = x_signed ? 0x80 : 0;
    const int32_t a_zp = x_zp + (x_signed ? 128 : 0);
    const uint8_t pad = static_cast<uint8_t>(a_zp);
    const uint8_t out_flip = y_signed ? 0 : 0x80;  // the kernel writes int8; uint8 codes are those + 128
    const int32_t out_zp = y_zp - (y_signed ? 0 : 128);
    // Images per gemm: the im2col rows of a chunk stay within a few MB.
    const int64_t per_image = P * K;
    const int64_t chunk = std::clamp<int64_t>((int64_t{4} << 20) / std::max<int64_t>(per_image, 1), 1, g.N);
    PreparedStep s;
    s.macs = g.N * P * K * O;
    s.run = [=](RunFrame& f) {
        const size_t col_bytes = static_cast<size_t>(chunk * per_image);
        const size_t out_bytes = P == 1 ? 0 : static_cast<size_t>(chunk * P * O);
        const size_t need = (col_bytes + out_bytes + 3) / 4;
        if (f.scratch.size() < need) f.scratch.resize(need);
        uint8_t* cols = reinterpret_cast<uint8_t*>(f.scratch.data());
        int8_t* staged = reinterpret_cast<int8_t*>(cols + col_bytes);
        const uint8_t* px = f.read[static_cast<size_t>(x)];
        uint8_t* py = f.write[static_cast<size_t>(y)];
        for (int64_t b0 = 0; b0 < g.N; b0 += chunk) {
            const int64_t b1 = std::min(g.N, b0 + chunk), rows = (b1 - b0) * P;
            ops::parallel_items(b1 - b0, per_image, [&](int64_t i0, int64_t i1) {
                im2col(g, px, b0 + i0, b0 + i1, flip, pad, cols + i0 * per_image);
            });
            GemmQ8Args a;
            a.m = rows, a.n = O, a.k = K;
            a.a = cols, a.lda = K, a.a_zero_point = a_zp, a.a_scale = x_scale;
            a.b = packed.get(), a.b_scale = wscale->data();
            a.output = Q8Output::requant_s8;
            a.c = P == 1 ? static_cast<void*>(py + b0 * O) : static_cast<void*>(staged);
            a.ldc = O;
            a.bias_s32 = bias_v->empty() ? nullptr : bias_v->data();
            a.out_scale = y_scale, a.out_zero_point = out_zp;
            a.qmin = -128, a.qmax = 127;
            gemm_q8(a);
            if (P == 1) {
                if (out_flip) {
                    for (int64_t i = b0 * O; i < b1 * O; ++i) py[i] ^= out_flip;
                }
                continue;
            }
            rows_to_planes(staged, b1 - b0, P, O, out_flip, py + b0 * O * P);
        }
    };
    return s;
}

// First and one-past-last output column whose input column ow * sw + off lies in [0, W).
std::pair<int64_t, int64_t> valid_columns(int64_t off, int64_t sw, int64_t W, int64_t OW) {
    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
    lo = std::min(lo, OW), hi = std::min(hi, OW);
    return {lo, std::max(lo, hi)};
}

// a[ow] += (r[ow] - x_zp) * kv over [c0, c1). Each product fits int16 exactly
// (|code - zp| <= 255, |kv| <= 128: at most 32640), so SSE2 forms 8 at a time
// with 16-bit multiplies (x86-64's baseline has no 32-bit one) and widens them
// into the int32 sums; the tail goes one by one.
template <class X>
void depthwise_tap_row(const X* r, int32_t x_zp, int32_t kv, int32_t* a, int64_t c0, int64_t c1) {
    int64_t ow = c0;
#if defined(__SSE2__)
    const __m128i zp = _mm_set1_epi16(static_cast<int16_t>(x_zp)), k = _mm_set1_epi16(static_cast<int16_t>(kv));
    for (; ow + 8 <= c1; ow += 8) {
        const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r + ow));
        const __m128i w16 = std::is_signed_v<X> ? _mm_srai_epi16(_mm_unpacklo_epi8(b, b), 8)
                                                : _mm_unpacklo_epi8(b, _mm_setzero_si128());
        const __m128i prod = _mm_mullo_epi16(_mm_sub_epi16(w16, zp), k);
        __m128i* dst = reinterpret_cast<__m128i*>(a + ow);
        _mm_storeu_si128(dst, _mm_add_epi32(_mm_loadu_si128(dst), _mm_srai_epi32(_mm_unpacklo_epi16(prod, prod), 16)));
        _mm_storeu_si128(dst + 1, _mm_add_epi32(_mm_loadu_si128(dst + 1), _mm_srai_epi32(_mm_unpackhi_epi16(prod, prod), 16)));
    }
#endif
    for (; ow < c1; ++ow) a[ow] += (static_cast<int32_t>(r[ow]) - x_zp) * kv;
}

// out[ow] = requantize_float(a[ow] + b (wrapping), scale, y_zp, codes' range), four at
// a time with the same float steps (convert, multiply, clamp, round_clamped's
// magic-number rounding) where the clamp range allows that rounding.
template <class Y>
void depthwise_requant_row(const int32_t* a, uint32_t b, float scale, int32_t y_zp, Y* out, int64_t OW) {
    const int32_t lo = std::is_signed_v<Y> ? -128 : 0, hi = std::is_signed_v<Y> ? 127 : 255;
    int64_t ow = 0;
#if defined(__SSE2__)
    const float flo = static_cast<float>(lo - y_zp), fhi = static_cast<float>(hi - y_zp);
    if (flo >= -4194304.0f && fhi <= 4194304.0f) {
        const __m128 vs = _mm_set1_ps(scale), vlo = _mm_set1_ps(flo), vhi = _mm_set1_ps(fhi), magic = _mm_set1_ps(12582912.0f);
        const __m128i vb = _mm_set1_epi32(static_cast<int32_t>(b)), vzp = _mm_set1_epi32(y_zp);
        for (; ow + 4 <= OW; ow += 4) {
            const __m128i sum = _mm_add_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + ow)), vb);
            __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(_mm_cvtepi32_ps(sum), vs), vlo), vhi);
            v = _mm_sub_ps(_mm_add_ps(v, magic), magic);
            const __m128i q = _mm_add_epi32(_mm_cvtps_epi32(v), vzp);
            const __m128i w16 = _mm_packs_epi32(q, q);  // within the codes' range: the packs only narrow
            const __m128i w8 = std::is_signed_v<Y> ? _mm_packs_epi16(w16, w16) : _mm_packus_epi16(w16, w16);
            const int32_t four = _mm_cvtsi128_si32(w8);
            std::memcpy(out + ow, &four, 4);
        }
    }
#endif
    for (; ow < OW; ++ow) out[ow] = static_cast<Y>(requantize_float(static_cast<int32_t>(static_cast<uint32_t>(a[ow]) + b), scale, y_zp, lo, hi));
}

// One output row at a time: int32 sums over the kernel taps, each tap a
// contiguous (stride 1) sweep over the row's valid columns, so the compiler
// vectorizes it. Sums are exact: |acc| <= KH * KW * 255 * 128 stays in int32
// for kernels up to 256 taps (checked at prepare).
template <class X, class Y>
void depthwise_planes(const QLinearGeometry& geo, const X* x, int32_t x_zp, const int8_t* w, const int32_t* bias,
                      const float* scales, int32_t y_zp, Y* y, int64_t p0, int64_t p1) {
    // Locals, not fields: stores through Y* (a byte type) may alias the geometry.
    const int64_t C = geo.C, H = geo.H, W = geo.W, KH = geo.KH, KW = geo.KW, OH = geo.OH, OW = geo.OW;
    const int64_t sh = geo.sh, sw = geo.sw, dh = geo.dh, dw = geo.dw, pt = geo.pt, pl = geo.pl;
    std::vector<int32_t> acc(static_cast<size_t>(OW));
    // The valid output columns of each kernel column depend on kw only.
    std::vector<std::pair<int64_t, int64_t>> cols(static_cast<size_t>(KW));
    for (int64_t kw = 0; kw < KW; ++kw) cols[static_cast<size_t>(kw)] = valid_columns(kw * dw - pl, sw, W, OW);
    for (int64_t plane = p0; plane < p1; ++plane) {
        const int64_t c = plane % C;
        const X* src = x + plane * H * W;
        const int8_t* k = w + c * KH * KW;
        Y* dst = y + plane * OH * OW;  // one output channel per input channel
        const uint32_t b = bias ? static_cast<uint32_t>(bias[c]) : 0u;
        const float scale = scales[c];
        for (int64_t oh = 0; oh < OH; ++oh) {
            int32_t* __restrict a = acc.data();
            std::fill(acc.begin(), acc.end(), 0);
            for (int64_t kh = 0; kh < KH; ++kh) {
                const int64_t ih = oh * sh - pt + kh * dh;
                if (ih < 0 || ih >= H) continue;
                const X* row = src + ih * W;
                for (int64_t kw = 0; kw < KW; ++kw) {
                    const int64_t off = kw * dw - pl;
                    const int32_t kv = k[kh * KW + kw];
                    const auto [c0, c1] = cols[static_cast<size_t>(kw)];
                    if (sw == 1) {
                        depthwise_tap_row(row + off, x_zp, kv, a, c0, c1);
                    } else {
                        for (int64_t ow = c0; ow < c1; ++ow) a[ow] += (static_cast<int32_t>(row[ow * sw + off]) - x_zp) * kv;
                    }
                }
            }
            // int32 wraps as the reference's sums do.
            depthwise_requant_row(a, b, scale, y_zp, dst + oh * OW, OW);
        }
    }
}

PreparedStep depthwise_step(const QLinearGeometry& g, const Tensor& w, const std::vector<float>& w_scales, float x_scale,
                            float y_scale, int32_t x_zp, int32_t y_zp, bool x_signed, bool y_signed,
                            const Tensor* bias, int x, int y) {
    auto weights = std::make_shared<std::vector<int8_t>>(w.data<int8_t>(), w.data<int8_t>() + w.numel());
    auto scales = std::make_shared<std::vector<float>>();
    for (float ws : w_scales) scales->push_back(requant_scale(x_scale, ws, y_scale));
    auto bias_v = std::make_shared<std::vector<int32_t>>();
    if (bias) bias_v->assign(bias->data<int32_t>(), bias->data<int32_t>() + g.O);
    PreparedStep s;
    s.macs = g.N * g.C * g.OH * g.OW * g.KH * g.KW;
    s.run = [=](RunFrame& f) {
        const uint8_t* px = f.read[static_cast<size_t>(x)];
        uint8_t* py = f.write[static_cast<size_t>(y)];
        const int32_t* pb = bias_v->empty() ? nullptr : bias_v->data();
        ops::parallel_items(g.N * g.C, g.OH * g.OW * g.KH * g.KW, [&](int64_t p0, int64_t p1) {
            const int8_t* pw = weights->data();
            const float* sc = scales->data();
            if (x_signed && y_signed)
                depthwise_planes(g, reinterpret_cast<const int8_t*>(px), x_zp, pw, pb, sc, y_zp, reinterpret_cast<int8_t*>(py), p0, p1);
            else if (x_signed)
                depthwise_planes(g, reinterpret_cast<const int8_t*>(px), x_zp, pw, pb, sc, y_zp, py, p0, p1);
            else if (y_signed)
                depthwise_planes(g, px, x_zp, pw, pb, sc, y_zp, reinterpret_cast<int8_t*>(py), p0, p1);
            else
                depthwise_planes(g, px, x_zp, pw, pb, sc, y_zp, py, p0, p1);
        });
    };
    return s;
}

// One positive (quantize: divided by) or finite scale and one zero point, both constant; false otherwise.
bool per_tensor_params(const std::vector<ValueSlot>& slots, const std::vector<int>& in, DType codes, bool positive,
                       float& scale, int32_t& zp) {
    const Tensor* s = constant(slots, in, 1);
    if (!s || s->dtype() != DType::f32 || s->numel() != 1 || s->rank() > 1) return false;
    scale = s->data<float>()[0];
    if (!std::isfinite(scale) || (positive && !(scale > 0))) return false;
    zp = 0;
    if (in.size() > 2 && in[2] >= 0) {
        const Tensor* z = constant(slots, in, 2);
        if (!z || z->dtype() != codes || z->numel() != 1 || z->rank() > 1) return false;
        zp = qlinear_code_at(*z, 0);
    } else if (codes != DType::u8) {
        return false;
    }
    return true;
}

template <class Y>
void quantize_range(const float* x, float scale, int32_t zp, Y* y, int64_t i0, int64_t i1) {
    const int32_t lo = std::is_signed_v<Y> ? -128 : 0, hi = std::is_signed_v<Y> ? 127 : 255;
    for (int64_t i = i0; i < i1; ++i) y[i] = static_cast<Y>(quantize_float(x[i], scale, zp, lo, hi));
}

template <class X>
void dequantize_range(const X* x, float scale, int32_t zp, float* y, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zp) * scale;
}

template <class T>
void max_pool_planes(const T* x, T* y, int64_t p0, int64_t p1, int64_t H, int64_t W, int64_t OH, int64_t OW,
                     int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t pt, int64_t pl) {
    for (int64_t p = p0; p < p1; ++p) {
        const T* src = x + p * H * W;
        T* dst = y + p * OH * OW;
        for (int64_t oh = 0; oh < OH; ++oh) {
            const int64_t h0 = std::max<int64_t>(0, oh * sh - pt), h1 = std::min(H, oh * sh - pt + kh);
            for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t w0 = std::max<int64_t>(0, ow * sw - pl), w1 = std::min(W, ow * sw - pl + kw);
                T best = std::numeric_limits<T>::lowest();  // a window wholly in the padding is refused at prepare
                for (int64_t h = h0; h < h1; ++h)
                    for (int64_t w = w0; w < w1; ++w) best = std::max(best, src[h * W + w]);
                dst[oh * OW + ow] = best;
            }
        }
    }
}

}  // namespace

std::optional<PreparedStep> prepare_qlinear_conv(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                 const std::vector<ValueSlot>& slots) {
    if (in.size() < 8 || in[0] < 0 || out.size() != 1 || out[0] < 0) return std::nullopt;
    const ValueSlot &xs = slots[static_cast<size_t>(in[0])], &ys = slots[static_cast<size_t>(out[0])];
    if (!is_code(xs.dtype) || !is_code(ys.dtype) || xs.shape.size() != 4 || ys.shape.size() != 4) return std::nullopt;
    const Tensor* w = constant(slots, in, 3);
    if (!w || w->dtype() != DType::i8 || w->rank() != 4) return std::nullopt;
    const Tensor *x_zp = constant(slots, in, 2), *w_zp = constant(slots, in, 5), *y_zp = constant(slots, in, 7);
    if (!x_zp || !y_zp || !w_zp || x_zp->numel() != 1 || y_zp->numel() != 1 || x_zp->dtype() != xs.dtype ||
        y_zp->dtype() != ys.dtype || w_zp->dtype() != DType::i8)
        return std::nullopt;
    for (int64_t i = 0; i < w_zp->numel(); ++i) {
        if (w_zp->data<int8_t>()[i] != 0) return std::nullopt;  // asymmetric weights: the reference op
    }
    QLinearGeometry g{};
    g.N = xs.shape[0], g.C = xs.shape[1], g.H = xs.shape[2], g.W = xs.shape[3];
    g.O = w->dim(0), g.KH = w->dim(2), g.KW = w->dim(3);
    const int64_t groups = n.attr_int("group", 1), cg = w->dim(1);
    if (groups < 1 || g.C != cg * groups || g.O % groups != 0) return std::nullopt;
    // Depthwise sums are int32 (depthwise_planes): at most 256 taps keep them exact.
    const bool depthwise = cg == 1 && g.O == groups && g.KH * g.KW <= 256;
    if (groups != 1 && !depthwise) return std::nullopt;
    const auto xsc = scales_of(constant(slots, in, 1), 1), ysc = scales_of(constant(slots, in, 6), 1);
    const auto wsc = scales_of(constant(slots, in, 4), g.O);
    if (xsc.empty() || ysc.empty() || wsc.empty() || (w_zp->numel() != 1 && w_zp->numel() != g.O)) return std::nullopt;
    const Tensor* bias = constant(slots, in, 8);
    if (in.size() > 8 && in[8] >= 0 && (!bias || bias->dtype() != DType::i32 || bias->rank() != 1 || bias->dim(0) != g.O))
        return std::nullopt;
    const std::vector<int64_t> st = attr_ints_sized(n, "strides", 2, 1), dil = attr_ints_sized(n, "dilations", 2, 1);
    if (st[0] < 1 || st[1] < 1 || dil[0] < 1 || dil[1] < 1 || g.KH < 1 || g.KW < 1) return std::nullopt;
    const std::vector<int64_t> declared = n.attr_ints("kernel_shape", {});
    if (!declared.empty() && declared != std::vector<int64_t>{g.KH, g.KW}) return std::nullopt;
    const SpatialPads p = spatial_pads(n, {g.H, g.W}, {(g.KH - 1) * dil[0] + 1, (g.KW - 1) * dil[1] + 1}, st);
    g.sh = st[0], g.sw = st[1], g.dh = dil[0], g.dw = dil[1], g.pt = p.begin[0], g.pl = p.begin[1];
    g.OH = (g.H + p.begin[0] + p.end[0] - (g.KH - 1) * g.dh - 1) / g.sh + 1;
    g.OW = (g.W + p.begin[1] + p.end[1] - (g.KW - 1) * g.dw - 1) / g.sw + 1;
    if (g.OH < 1 || g.OW < 1 || ys.shape != Shape{g.N, g.O, g.OH, g.OW}) return std::nullopt;
    const bool x_signed = xs.dtype == DType::i8, y_signed = ys.dtype == DType::i8;
    const int32_t xz = qlinear_code_at(*x_zp, 0), yz = qlinear_code_at(*y_zp, 0);
    if (depthwise) return depthwise_step(g, *w, wsc, xsc[0], ysc[0], xz, yz, x_signed, y_signed, bias, in[0], out[0]);
    return gemm_step(g, *w, wsc, xsc[0], ysc[0], xz, yz, x_signed, y_signed, bias, in[0], out[0]);
}

}  // namespace tern::graph

namespace tern::graph {

std::optional<PreparedStep> prepare_quantize_linear(const std::vector<int>& in, const std::vector<int>& out,
                                                    const std::vector<ValueSlot>& slots) {
    if (in.size() < 2 || in[0] < 0 || out.size() != 1 || out[0] < 0) return std::nullopt;
    const ValueSlot &xs = slots[static_cast<size_t>(in[0])], &ys = slots[static_cast<size_t>(out[0])];
    float scale = 0;
    int32_t zp = 0;
    if (xs.dtype != DType::f32 || !is_code(ys.dtype) || !per_tensor_params(slots, in, ys.dtype, true, scale, zp))
        return std::nullopt;
    const int64_t count = shape_numel(xs.shape);
    const int x = in[0], y = out[0];
    const bool is_signed = ys.dtype == DType::i8;
    PreparedStep s;
    s.run = [=](RunFrame& f) {
        const float* px = f.in(x);
        uint8_t* py = f.write[static_cast<size_t>(y)];
        ops::parallel_items(count, 8, [&](int64_t i0, int64_t i1) {
            if (is_signed) quantize_range(px, scale, zp, reinterpret_cast<int8_t*>(py), i0, i1);
            else quantize_range(px, scale, zp, py, i0, i1);
        });
    };
    return s;
}

std::optional<PreparedStep> prepare_dequantize_linear(const std::vector<int>& in, const std::vector<int>& out,
                                                      const std::vector<ValueSlot>& slots) {
    if (in.size() < 2 || in[0] < 0 || out.size() != 1 || out[0] < 0) return std::nullopt;
    const ValueSlot &xs = slots[static_cast<size_t>(in[0])], &ys = slots[static_cast<size_t>(out[0])];
    float scale = 0;
    int32_t zp = 0;
    if (!is_code(xs.dtype) || ys.dtype != DType::f32 || !per_tensor_params(slots, in, xs.dtype, false, scale, zp))
        return std::nullopt;
    const int64_t count = shape_numel(xs.shape);
    const int x = in[0], y = out[0];
    const bool is_signed = xs.dtype == DType::i8;
    PreparedStep s;
    s.run = [=](RunFrame& f) {
        const uint8_t* px = f.read[static_cast<size_t>(x)];
        float* py = f.out(y);
        ops::parallel_items(count, 4, [&](int64_t i0, int64_t i1) {
            if (is_signed) dequantize_range(reinterpret_cast<const int8_t*>(px), scale, zp, py, i0, i1);
            else dequantize_range(px, scale, zp, py, i0, i1);
        });
    };
    return s;
}

}  // namespace tern::graph

namespace tern::graph {

std::optional<PreparedStep> prepare_max_pool_codes(const Node& n, const std::vector<int>& in, const std::vector<int>& out,
                                                   const std::vector<ValueSlot>& slots) {
    if (in.empty() || in[0] < 0 || out.size() != 1 || out[0] < 0) return std::nullopt;
    const ValueSlot &xs = slots[static_cast<size_t>(in[0])], &ys = slots[static_cast<size_t>(out[0])];
    if (!is_code(xs.dtype) || ys.dtype != xs.dtype || xs.shape.size() != 4 || ys.shape.size() != 4) return std::nullopt;
    if (n.attr_int("ceil_mode", 0) != 0 || n.attr_ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1})
        return std::nullopt;
    const std::vector<int64_t> k = n.attr_ints("kernel_shape", {});
    if (k.size() != 2 || k[0] < 1 || k[1] < 1) return std::nullopt;
    const std::vector<int64_t> st = attr_ints_sized(n, "strides", 2, 1);
    if (st[0] < 1 || st[1] < 1) return std::nullopt;
    const SpatialPads p = spatial_pads(n, {xs.shape[2], xs.shape[3]}, k, st);
    const int64_t H = xs.shape[2], W = xs.shape[3];
    const int64_t OH = (H + p.begin[0] + p.end[0] - k[0]) / st[0] + 1, OW = (W + p.begin[1] + p.end[1] - k[1]) / st[1] + 1;
    if (ys.shape != Shape{xs.shape[0], xs.shape[1], OH, OW}) return std::nullopt;
    // Every window must hold a real input (pads smaller than the kernel): the reference's empty-window rule is not copied.
    if (p.begin[0] >= k[0] || p.begin[1] >= k[1] || p.end[0] >= k[0] || p.end[1] >= k[1]) return std::nullopt;
    const int64_t planes = xs.shape[0] * xs.shape[1], sh = st[0], sw = st[1], pt = p.begin[0], pl = p.begin[1];
    const int x = in[0], y = out[0];
    const bool is_signed = xs.dtype == DType::i8;
    PreparedStep s;
    s.run = [=](RunFrame& f) {
        const uint8_t* px = f.read[static_cast<size_t>(x)];
        uint8_t* py = f.write[static_cast<size_t>(y)];
        ops::parallel_items(planes, H * W, [&](int64_t p0, int64_t p1) {
            if (is_signed)
                max_pool_planes(reinterpret_cast<const int8_t*>(px), reinterpret_cast<int8_t*>(py), p0, p1, H, W, OH, OW,
                                k[0], k[1], sh, sw, pt, pl);
            else
                max_pool_planes(px, py, p0, p1, H, W, OH, OW, k[0], k[1], sh, sw, pt, pl);
        });
    };
    return s;
}

}  // namespace tern::graph
