#pragma once
// Shared by the conv2d autograd files (ops_conv.cpp: im2col + sgemm backward;
// ops_conv_direct.cpp, ops_conv_depthwise.cpp). The geometry, padded copies
// and the forward paths live in ops/ (ops/conv2d.h, ops/conv_detail.h).
// Not part of the public API.
#include "nn/ops.h"
#include "ops/conv_detail.h"

namespace tern::nn::detail {

using ops::ConvGeom;
using ops::detail::conv_direct_applies;
using ops::detail::dw_geom;
using ops::detail::fast3x3;
using ops::detail::for_image_parts;
using ops::detail::im2col;
using ops::detail::PaddedImage;
using ops::detail::PaddedPlane;
using ops::detail::valid_range;

// Backward of the direct and depthwise paths. gx/gw/gb may be null (not
// needed); gx_fresh: gx is uninitialised and must be written, not accumulated.
void conv_direct_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx, bool gx_fresh,
                          float* gw, float* gb);
void conv_depthwise_backward(const ConvGeom& g, const float* x, const float* w, const float* gy, float* gx,
                             bool gx_fresh, float* gw, float* gb);

}  // namespace tern::nn::detail
