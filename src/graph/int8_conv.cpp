#include "graph/int8_conv.h"

#include <cstring>

#include "graph/int8_gemm.h"
#include "graph/op_util.h"

namespace tern::graph {

namespace {

bool is_int8_conv_code_dtype(DType t) { return t == DType::i8 || t == DType::u8; }

void require_codes(const Node& n, const Tensor& t, const char* what) {
    if (!is_int8_conv_code_dtype(t.dtype())) {
        throw n.error(std::string(what) + " is " + std::string(dtype_name(t.dtype())) + "; " + n.op_type +
                      " needs int8 or uint8");
    }
}

// Conv geometry in 2-D (a 1-D conv has H = KH = 1).
struct ConvGeometry {
    int64_t N, C, H, W, O, KH, KW, groups, sh, sw, dh, dw, pt, pl, OH, OW;
    bool one_d;
};

ConvGeometry conv_geometry(const Node& n, const Shape& xs, const Shape& ws) {
    if (xs.size() != 3 && xs.size() != 4) {
        throw n.error("input has " + std::to_string(xs.size()) + " dims; tern's " + n.op_type +
                      " runs 3 (N, C, L) or 4 (N, C, H, W)");
    }
    if (ws.size() != xs.size()) throw n.error(format("weight has %zu dims, %s needs %zu", ws.size(), n.op_type.c_str(), xs.size()));
    ConvGeometry g{};
    g.one_d = xs.size() == 3;
    const size_t sr = xs.size() - 2;
    g.N = xs[0], g.C = xs[1], g.H = g.one_d ? 1 : xs[2], g.W = xs.back();
    g.O = ws[0], g.KH = g.one_d ? 1 : ws[2], g.KW = ws.back();
    g.groups = n.attr_int("group", 1);
    if (g.groups < 1) throw n.error("group must be >= 1");
    if (g.C != ws[1] * g.groups || g.O % g.groups != 0) {
        throw n.error(format("input has %lld channels and weight %s; they do not fit group %lld", (long long)g.C,
                             shape_to_string(ws).c_str(), (long long)g.groups));
    }
    const Shape kernel(ws.begin() + 2, ws.end());
    const std::vector<int64_t> declared = n.attr_ints("kernel_shape", {});
    if (!declared.empty() && declared != std::vector<int64_t>(kernel.begin(), kernel.end())) {
        throw n.error("kernel_shape disagrees with the weight's shape " + shape_to_string(ws));
    }
    const auto strides = attr_ints_sized(n, "strides", sr, 1);
    const auto dil = attr_ints_sized(n, "dilations", sr, 1);
    std::vector<int64_t> ext(sr);
    for (size_t i = 0; i < sr; ++i) {
        if (strides[i] < 1 || dil[i] < 1 || kernel[i] < 1) throw n.error("kernel, strides and dilations must be >= 1");
        ext[i] = (kernel[i] - 1) * dil[i] + 1;
    }
    const Shape spatial(xs.begin() + 2, xs.end());
    const SpatialPads p = spatial_pads(n, spatial, ext, strides);
    std::vector<int64_t> out(sr);
    for (size_t i = 0; i < sr; ++i) {
        const int64_t span = spatial[i] + p.begin[i] + p.end[i] - ext[i];
        if (span < 0) throw n.error(format("the kernel (%lld) is larger than the padded input (%lld)", (long long)ext[i],
                                           (long long)(spatial[i] + p.begin[i] + p.end[i])));
        out[i] = span / strides[i] + 1;
    }
    g.sh = g.one_d ? 1 : strides[0], g.sw = strides.back();
    g.dh = g.one_d ? 1 : dil[0], g.dw = dil.back();
    g.pt = g.one_d ? 0 : p.begin[0], g.pl = p.begin.back();
    g.OH = g.one_d ? 1 : out[0], g.OW = out.back();
    return g;
}

int32_t int8_conv_code_at(const Tensor& t, int64_t i) {
    return t.dtype() == DType::i8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
}

// The definition: direct loops; padding reads as the zero point (a centred 0).
void conv_reference(const ConvGeometry& g, const Tensor& x, int32_t x_zp, const Tensor& w,
                    const std::vector<int32_t>& w_zp, int32_t* y) {
    const int64_t cg = g.C / g.groups, og = g.O / g.groups;
    for (int64_t b = 0; b < g.N; ++b) {
        for (int64_t o = 0; o < g.O; ++o) {
            const int64_t grp = o / og;
            const int32_t wz = w_zp[w_zp.size() == 1 ? 0 : o];
            for (int64_t oh = 0; oh < g.OH; ++oh) {
                for (int64_t ow = 0; ow < g.OW; ++ow) {
                    int64_t acc = 0;
                    for (int64_t ic = 0; ic < cg; ++ic) {
                        const int64_t c = grp * cg + ic;
                        for (int64_t kh = 0; kh < g.KH; ++kh) {
                            const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
                            if (ih < 0 || ih >= g.H) continue;
                            for (int64_t kw = 0; kw < g.KW; ++kw) {
                                const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
                                if (iw < 0 || iw >= g.W) continue;
                                const int32_t xv = int8_conv_code_at(x, ((b * g.C + c) * g.H + ih) * g.W + iw) - x_zp;
                                const int32_t wv = int8_conv_code_at(w, ((o * cg + ic) * g.KH + kh) * g.KW + kw) - wz;
                                acc += static_cast<int64_t>(xv) * wv;
                            }
                        }
                    }
                    y[((b * g.O + o) * g.OH + oh) * g.OW + ow] = static_cast<int32_t>(acc);
                }
            }
        }
    }
}

// Depthwise (one input and one output channel per group): K = KH * KW is too
// short for a gemm, so a typed direct loop with the weights centred once per channel.
template <class X, class W>
void conv_depthwise(const ConvGeometry& g, const X* x, int32_t x_zp, const W* w, const std::vector<int32_t>& w_zp,
                    int32_t* y) {
    std::vector<int32_t> kernel(static_cast<size_t>(g.KH * g.KW));
    for (int64_t c = 0; c < g.C; ++c) {
        const int32_t wz = w_zp[w_zp.size() == 1 ? 0 : c];
        for (size_t k = 0; k < kernel.size(); ++k) kernel[k] = static_cast<int32_t>(w[c * g.KH * g.KW + static_cast<int64_t>(k)]) - wz;
        for (int64_t b = 0; b < g.N; ++b) {
            const X* plane = x + (b * g.C + c) * g.H * g.W;
            int32_t* out = y + (b * g.C + c) * g.OH * g.OW;
            for (int64_t oh = 0; oh < g.OH; ++oh) {
                for (int64_t ow = 0; ow < g.OW; ++ow) {
                    int64_t acc = 0;
                    for (int64_t kh = 0; kh < g.KH; ++kh) {
                        const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
                        if (ih < 0 || ih >= g.H) continue;
                        const X* row = plane + ih * g.W;
                        const int32_t* krow = kernel.data() + kh * g.KW;
                        for (int64_t kw = 0; kw < g.KW; ++kw) {
                            const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
                            if (iw >= 0 && iw < g.W) acc += static_cast<int64_t>(static_cast<int32_t>(row[iw]) - x_zp) * krow[kw];
                        }
                    }
                    out[oh * g.OW + ow] = static_cast<int32_t>(acc);
                }
            }
        }
    }
}

void conv_depthwise_typed(const ConvGeometry& g, const Tensor& x, int32_t x_zp, const Tensor& w,
                          const std::vector<int32_t>& w_zp, int32_t* y) {
    const bool xs = x.dtype() == DType::i8, ws = w.dtype() == DType::i8;
    if (xs && ws) conv_depthwise(g, x.data<int8_t>(), x_zp, w.data<int8_t>(), w_zp, y);
    if (xs && !ws) conv_depthwise(g, x.data<int8_t>(), x_zp, w.data<uint8_t>(), w_zp, y);
    if (!xs && ws) conv_depthwise(g, x.data<uint8_t>(), x_zp, w.data<int8_t>(), w_zp, y);
    if (!xs && !ws) conv_depthwise(g, x.data<uint8_t>(), x_zp, w.data<uint8_t>(), w_zp, y);
}

// im2col per image and group into (OH * OW, C/group * KH * KW) codes, padded with
// the zero point's code, then one int8_gemm against the group's (O/group, K) weights.
void conv_gemm(const ConvGeometry& g, const Tensor& x, int32_t x_zp, const Tensor& w, const std::vector<int32_t>& w_zp,
               int32_t* y) {
    const int64_t cg = g.C / g.groups, og = g.O / g.groups, K = cg * g.KH * g.KW, P = g.OH * g.OW;
    const bool x_signed = x.dtype() == DType::i8;
    const uint8_t pad = static_cast<uint8_t>(x_zp);  // the code's byte (int8 codes wrap the same way)
    std::vector<uint8_t> cols(static_cast<size_t>(P * K));
    std::vector<int32_t> acc(static_cast<size_t>(P * og));
    const uint8_t* xb = x.data<uint8_t>();
    const uint8_t* wb = w.data<uint8_t>();
    for (int64_t b = 0; b < g.N; ++b) {
        for (int64_t grp = 0; grp < g.groups; ++grp) {
            for (int64_t oh = 0; oh < g.OH; ++oh) {
                for (int64_t ow = 0; ow < g.OW; ++ow) {
                    uint8_t* row = cols.data() + (oh * g.OW + ow) * K;
                    for (int64_t ic = 0; ic < cg; ++ic) {
                        const uint8_t* plane = xb + (b * g.C + grp * cg + ic) * g.H * g.W;
                        for (int64_t kh = 0; kh < g.KH; ++kh) {
                            const int64_t ih = oh * g.sh - g.pt + kh * g.dh;
                            for (int64_t kw = 0; kw < g.KW; ++kw) {
                                const int64_t iw = ow * g.sw - g.pl + kw * g.dw;
                                const bool inside = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W;
                                *row++ = inside ? plane[ih * g.W + iw] : pad;
                            }
                        }
                    }
                }
            }
            Int8GemmArgs args;
            args.m = P, args.n = og, args.k = K;
            args.a = {cols.data(), x_signed};
            args.b = {wb + grp * og * K, w.dtype() == DType::i8};
            args.b_nk = true;
            args.a_zp = &x_zp;
            args.b_zp = w_zp.size() == 1 ? w_zp.data() : w_zp.data() + grp * og;
            args.b_zp_count = w_zp.size() == 1 ? 1 : og;
            args.c = acc.data();
            int8_gemm(args);
            for (int64_t o = 0; o < og; ++o) {
                int32_t* dst = y + (b * g.O + grp * og + o) * P;
                for (int64_t p = 0; p < P; ++p) dst[p] = acc[static_cast<size_t>(p * og + o)];
            }
        }
    }
}

}  // namespace

Tensor integer_conv(const Node& n, const Tensor& x_in, int32_t x_zp, const Tensor& w_in, const std::vector<int32_t>& w_zp,
                    bool fast) {
    const Tensor x = x_in.contiguous(), w = w_in.contiguous();
    require_codes(n, x, "input");
    require_codes(n, w, "weight");
    const ConvGeometry g = conv_geometry(n, x.shape(), w.shape());
    if (w_zp.size() != 1 && static_cast<int64_t>(w_zp.size()) != g.O) {
        throw n.error(format("weight zero point has %zu values; it needs 1 or %lld (one per output channel)", w_zp.size(),
                             (long long)g.O));
    }
    const Shape out = g.one_d ? Shape{g.N, g.O, g.OW} : Shape{g.N, g.O, g.OH, g.OW};
    Tensor y = Tensor::empty(out, DType::i32);
    if (y.numel() == 0) return y;
    const bool depthwise = g.C / g.groups == 1 && g.O / g.groups == 1;
    if (fast && depthwise) {
        conv_depthwise_typed(g, x, x_zp, w, w_zp, y.data<int32_t>());
    } else if (fast) {
        conv_gemm(g, x, x_zp, w, w_zp, y.data<int32_t>());
    } else {
        conv_reference(g, x, x_zp, w, w_zp, y.data<int32_t>());
    }
    return y;
}

Tensor integer_matmul(const Node& n, const Tensor& a_in, const std::vector<int32_t>& a_zp, const Tensor& b_in,
                      const std::vector<int32_t>& b_zp, bool fast) {
    require_codes(n, a_in, "A");
    require_codes(n, b_in, "B");
    const MatMulShapes m = matmul_shapes(n, a_in, b_in);
    const int64_t M = m.M, K = m.K, N = m.N;
    if (a_zp.size() != 1 && static_cast<int64_t>(a_zp.size()) != M) {
        throw n.error(format("A's zero point has %zu values; it needs 1 or %lld (one per row)", a_zp.size(), (long long)M));
    }
    if (b_zp.size() != 1 && static_cast<int64_t>(b_zp.size()) != N) {
        throw n.error(format("B's zero point has %zu values; it needs 1 or %lld (one per column)", b_zp.size(), (long long)N));
    }
    Tensor y = Tensor::empty(m.out_shape, DType::i32);
    const int64_t nb = shape_numel(m.batch);
    auto run = [&](const uint8_t* pa, const uint8_t* pb, int64_t rows, int32_t* pc) {
        Int8GemmArgs g;
        g.m = rows, g.n = N, g.k = K;
        g.a = {pa, m.a.dtype() == DType::i8};
        g.b = {pb, m.b.dtype() == DType::i8};
        g.a_zp = a_zp.data(), g.a_zp_count = static_cast<int64_t>(a_zp.size());
        g.b_zp = b_zp.data(), g.b_zp_count = static_cast<int64_t>(b_zp.size());
        g.c = pc;
        if (g.k == 0) {
            std::memset(pc, 0, static_cast<size_t>(rows * N) * 4);
        } else if (fast) {
            int8_gemm(g);
        } else {
            int8_gemm_reference(g);
        }
    };
    if (y.numel() == 0) {
    } else if (shape_numel(m.b_batch) == 1 && a_zp.size() == 1) {
        // One B for every batch item: the batch folds into the rows (B is packed once).
        run(m.a.data<uint8_t>(), m.b.data<uint8_t>(), nb * M, y.data<int32_t>());
    } else {
        for (int64_t i = 0; i < nb; ++i) {
            const auto [ia, ib] = m.operands_of(i);
            run(m.a.data<uint8_t>() + ia * M * K, m.b.data<uint8_t>() + ib * K * N, M, y.data<int32_t>() + i * M * N);
        }
    }
    return y.reshape(m.result);
}

}  // namespace tern::graph
