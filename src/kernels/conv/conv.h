#pragma once
// conv: direct convolution and pooling kernels for CNN training on small
// images with few channels (LeNet, MobileNet-style depthwise layers), where
// im2col + GEMM spends more time copying than multiplying. One table per ISA;
// `conv_kernel()` is the one chosen at start-up. All planes row-major fp32.
//
// The dense direct kernels take inputs pre-padded by the caller (zeros around
// the image): an input plane "xp" is (Hp, Wp) with Hp >= OH + KH - 1 and
// Wp >= OW + KW - 1, and reads stay inside it. The depthwise kernels pad
// implicitly: taps outside the unpadded plane are masked out of the loads
// (masked lanes never touch memory), so no padded copy is made per plane.
// Writes never go past OW in a row.
#include <cstdint>
#include <span>

#include "core/cpu_features.h"

namespace tern {

// Stride-1, dilation-1 dense convolution of one image.
struct DirectConvArgs {
    const float* xp;  // (C, Hp, Wp) padded input
    int64_t C, Hp, Wp;
    const float* w;  // (O, C, KH, KW)
    int64_t O, KH, KW;
    float* y;  // (O, OH, OW)
    int64_t OH, OW;
    bool accumulate;  // y += conv instead of y = conv
};

// Its weight gradient over a batch of N images (one horizontal sum per weight
// per call, not per image):
// gw[o][c][ky][kx] += sum_{n,oy,ox} dy[n][o][oy][ox] * xp[n][c][oy+ky][ox+kx].
struct DirectConvWgradArgs {
    const float* xp;  // (N, C, Hp, Wp) padded inputs
    int64_t N, C, Hp, Wp;
    const float* dy;  // (N, O, OH, OW)
    int64_t O, OH, OW;
    float* gw;  // (O, C, KH, KW), accumulated
    int64_t KH, KW;
};

// One plane of a depthwise 3x3 convolution: input (h, w), zero padding
// (ph, pw) on every side, stride 1 or 2, output (oh, ow).
struct Dw3x3Geom {
    int64_t h, w, ph, pw;
    int stride;
    int64_t oh, ow;
};

// One plane of a depthwise convolution of any kernel size (kw <= kDwMaxKw),
// dilation 1, strides sh and sw of 1 or 2 each (Paddle's (2, 1) included).
inline constexpr int kDwMaxKw = 11;
struct DwGeom {
    int64_t h, w, ph, pw;
    int sh, sw;
    int64_t kh, kw;
    int64_t oh, ow;
};

struct ConvKernels {
    const char* name;  // e.g. "conv_f32_avx512"
    Isa isa;
    // y[o] (=|+=) sum_c sum_{ky,kx} w[o][c][ky][kx] * xp[c][oy+ky][ox+kx]
    void (*direct_s1)(const DirectConvArgs& a);
    void (*direct_s1_wgrad)(const DirectConvWgradArgs& a);
    // Depthwise 3x3 of one plane, x (h, w) read as zero outside:
    // y[oy][ox] (= bias | +=) sum_{ky,kx} w9[ky*3+kx] * x[oy*s+ky-ph][ox*s+kx-pw]   y: (oh, ow)
    void (*dw3x3)(const Dw3x3Geom& g, const float* x, const float* w9, float bias, float* y, bool accumulate);
    // Depthwise KH x KW of one plane, x (h, w) read as zero outside, taps in (ky, kx) order:
    // y[oy][ox] = bias + sum_{ky,kx} wk[ky*kw+kx] * x[oy*sh+ky-ph][ox*sw+kx-pw]        y: (oh, ow)
    void (*dw_any)(const DwGeom& g, const float* x, const float* wk, float bias, float* y);
    // Max pooling of one plane with the same geometry (kh x kw window, strides sh, sw
    // of 1 or 2, padding taps skipped): y[oy][ox] = the window's maximum, taps in
    // (ky, kx) order, the first NaN wins and sticks (ops::Pool's rule).
    void (*maxpool_any)(const DwGeom& g, const float* x, float* y);
    // gw9[ky*3+kx] += sum_{oy,ox} dy[oy][ox] * x[oy*s+ky-ph][ox*s+kx-pw]            dy: (oh, ow)
    void (*dw3x3_wgrad)(const Dw3x3Geom& g, const float* x, const float* dy, float* gw9);
    // 2x2 / stride-2 max pooling of one plane x (rows of ldx floats, 2*oh rows):
    // y (oh, ow) and code (oh, ow) = 2*ky + kx of the winning tap. Taps in
    // order (0,0) (0,1) (1,0) (1,1); the first maximum wins, the first NaN wins
    // and sticks (PyTorch's rule).
    void (*maxpool2x2)(const float* x, int64_t ldx, float* y, int32_t* code, int64_t oh, int64_t ow);
};

// The variant active_isa() chooses, and every variant this CPU supports (scalar
// first): tests, benchmarks and `tern info --cpu` walk these (kernel_table.h).
const ConvKernels& conv_kernel();
std::span<const ConvKernels* const> conv_variants();

extern const ConvKernels kConvScalar;
extern const ConvKernels kConvAvx2;
extern const ConvKernels kConvAvx512;

}  // namespace tern
