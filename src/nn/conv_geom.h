#pragma once
// Shared by the conv2d implementation files (ops_conv.cpp: im2col + sgemm;
// ops_conv_depthwise.cpp: direct depthwise loops). Not part of the public API.
#include <algorithm>
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "nn/ops.h"
#include "nn/parallel.h"

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

// Runs body(part, n_parts, image_begin, image_end) over the batch: one part
// per thread (serial kernels inside) when the batch can feed every thread,
// otherwise a single part whose sgemm calls use the pool. Returns the parts.
template <class F>
int for_image_parts(int64_t N, int64_t work_per_image, F&& body) {
    ThreadPool& pool = default_pool();
    const bool big = N * work_per_image >= 16 * kMinParallelWork;
    const int parts = big && N >= pool.size() ? pool.size() : 1;
    if (parts == 1) {
        body(0, 1, int64_t{0}, N);
        return 1;
    }
    pool.run([&](int i, int n) { body(i, n, N * i / n, N * (i + 1) / n); });
    return parts;
}

// Dense stride-1 convolution with few channels as direct loops
// (ops_conv_direct.cpp): no im2col copy, no GEMM packing.
bool conv_direct_applies(const ConvGeom& g);
Tensor conv_direct_forward(const ConvGeom& g, const float* x, const float* w, const float* b);
void conv_direct_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, bool gx_fresh,
                          float* gw, float* gb);

// Depthwise (one input channel per group). gx/gw/gb may be null (not needed);
// gx_fresh: gx is uninitialised and must be written, not accumulated.
Tensor conv_depthwise_forward(const ConvGeom& g, const float* x, const float* w, const float* b);
void conv_depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             bool gx_fresh, float* gw, float* gb);

}  // namespace tern::nn::detail
