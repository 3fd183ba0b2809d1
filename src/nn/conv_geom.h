#pragma once
// Shared by the conv2d implementation files (ops_conv.cpp: im2col + sgemm;
// ops_conv_depthwise.cpp: direct depthwise loops). Not part of the public API.
#include <algorithm>
#include <cstdint>

#include "core/tensor.h"
#include "nn/ops.h"

namespace tern::nn::detail {

struct ConvGeom {
    int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og;
    Conv2dParams p;
    int64_t ckk() const { return Cg * KH * KW; }
    int64_t ohw() const { return OH * OW; }
    bool pointwise() const {
        return KH == 1 && KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
    }
};

// Output positions [lo, hi) along one axis whose input index i = o*stride + off
// falls inside [0, size): the taps that need no zero padding.
inline void valid_range(int64_t size, int64_t stride, int64_t off, int64_t out, int64_t& lo, int64_t& hi) {
    lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
    hi = size - 1 - off < 0 ? 0 : (size - 1 - off) / stride + 1;
    lo = std::min(lo, out);
    hi = std::clamp(hi, lo, out);
}

// Depthwise (one input channel per group). gx/gw/gb may be null (not needed);
// gx_fresh: gx is uninitialised and must be written, not accumulated.
Tensor conv_depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b);
void conv_depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             bool gx_fresh, float* gw, float* gb);

}  // namespace tern::nn::detail
