#pragma once
// ops::Conv2d: a 2-D convolution (dense, grouped or depthwise) prepared once
// for an input shape, run on caller buffers. The constructor validates the
// shapes, stride, padding, dilation and groups and chooses the path:
//   depthwise (one input channel per group) -> kernels/conv dw3x3 for 3x3
//                    stride 1/2, portable loops over padded planes otherwise
//   direct           dense stride-1 convolutions with few channels (LeNet,
//                    a MobileNet stem): kernels/conv direct_s1, no im2col copy
//   im2col + GEMM    everything else (1x1 stride 1 skips im2col)
// nn::conv2d wraps it in autograd (its backward keeps its own code).
#include <cstdint>
#include <vector>

namespace tern::ops {

struct Conv2dParams {
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_h = 0, pad_w = 0;
    int64_t dilation_h = 1, dilation_w = 1;
    int64_t groups = 1;
};

// The sizes of one convolution. N is the batch of the call in flight; the
// prepared operator holds N = 0 and run() fills it in.
struct ConvGeom {
    int64_t N, C, H, W, O, KH, KW, OH, OW, G, Cg, Og;
    Conv2dParams p;
    int64_t ckk() const { return Cg * KH * KW; }
    int64_t ohw() const { return OH * OW; }
    bool pointwise() const {
        return KH == 1 && KW == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 && p.pad_w == 0;
    }
};

enum class ConvPath { im2col_gemm, direct, depthwise };
const char* conv_path_name(ConvPath p);

// Validates an input (C, H, W) against a weight (O, C/groups, KH, KW) and
// `p`, and returns the geometry (N = 0). Throws InputError naming `where`.
ConvGeom conv_geometry(int64_t C, int64_t H, int64_t W, int64_t O, int64_t weight_cg, int64_t KH, int64_t KW,
                       const Conv2dParams& p, const char* where = "conv2d");
ConvPath choose_conv_path(const ConvGeom& g);

class Conv2d {
public:
    // Whether the operator keeps its own copy of the weights (an inference
    // graph) or reads the caller's, which must outlive it (autograd, whose
    // weights change every step and are only read during the call).
    enum class Weights { copy, borrow };

    // Input (C, H, W); w: (O, C/groups, KH, KW) floats; bias: O floats or
    // null. Throws InputError on any shape that does not fit.
    Conv2d(int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW, const Conv2dParams& p, const float* w,
           const float* bias, Weights mode = Weights::copy);

    // Floats of scratch run() needs for a batch of N images (0 for some paths).
    int64_t scratch_floats(int64_t N) const;
    // x: (N, C, H, W), y: (N, O, OH, OW) overwritten, scratch: scratch_floats(N)
    // floats. Allocates nothing except the depthwise portable path's one
    // padded plane per thread, kept between calls.
    void run(const float* x, float* y, int64_t N, float* scratch) const;

    const ConvGeom& geometry() const { return g_; }
    ConvPath path() const { return path_; }
    int64_t out_h() const { return g_.OH; }
    int64_t out_w() const { return g_.OW; }

private:
    ConvGeom g_;
    ConvPath path_;
    std::vector<float> w_own_, b_own_;
    const float* w_;
    const float* b_;  // null: no bias
};

}  // namespace tern::ops
