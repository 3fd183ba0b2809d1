#pragma once
// ConvTranspose's geometry and its GEMM formulation, shared by the reference
// op (graph/ops_conv_transpose.cpp) and the planned executor's prepared step,
// so both give the same bits.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

// Per spatial dim, padded to 3 dims (leading dims of size 1).
struct ConvTransposeGeometry {
    std::vector<int64_t> in, kernel, stride, dil, pad_begin, out;
    int64_t in_plane() const { return in[0] * in[1] * in[2]; }
    int64_t out_plane() const { return out[0] * out[1] * out[2]; }
    int64_t kernel_plane() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Output size and leading pads per spatial dim as the ONNX spec defines them
// (strides, dilations, pads, output_padding, output_shape, auto_pad); the
// node's error for inconsistent attributes.
ConvTransposeGeometry conv_transpose_geometry(const Node& n, const Shape& x, const Shape& w);

// The channel split of one ConvTranspose: x (N, C, in...), w (C, M / group, kernel...).
struct ConvTransposeChannels {
    int64_t batch = 0, in_channels = 0, group = 1, out_per_group = 0;
    int64_t in_per_group() const { return in_channels / group; }
    int64_t out_channels() const { return out_per_group * group; }
};

// Floats of the GEMM's column buffer, or -1 when it would exceed the limit
// past which the plain scatter loop runs instead (hostile kernel sizes).
int64_t conv_transpose_cols_floats(const ConvTransposeGeometry& g, const ConvTransposeChannels& c);

// y (N, M, out...) = ConvTranspose(x, w) + bias, every element written: one
// GEMM per image and group gives every (output channel, tap) row of
// contributions, cols = W_g^T X_g, then each is added into the output planes
// tap by tap, the bias last. `cols` holds conv_transpose_cols_floats() floats.
void conv_transpose_gemm(const ConvTransposeGeometry& g, const ConvTransposeChannels& c, const float* x, const float* w,
                         const float* bias, float* y, float* cols);

}  // namespace tern::graph
