#pragma once
// Resize / Upsample planned once, run many times: the reference op
// (graph/ops_resize.cpp) and the planned executor's prepared step share it,
// so both give the same bits. Every mode is separable: the tensor is resized
// one axis at a time, each output position reading a few (index, weight) taps
// in double precision, rounded to float after each axis.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

struct ResizeTap {
    int64_t index;
    double weight;
};

// One axis of the resize: data (outer, in, inner) -> (outer, out, inner).
struct ResizeAxis {
    int64_t outer = 1, in = 1, inner = 1;
    std::vector<std::vector<ResizeTap>> taps;  // per output position; empty: the extrapolation value
    bool nearest = false;                      // every position one tap of weight 1: a copy
    int64_t out() const { return static_cast<int64_t>(taps.size()); }
};

struct ResizePlan {
    Shape in_shape, out_shape;
    std::vector<ResizeAxis> axes;  // only the axes that change, in order
    float extrapolation = 0.f;
    // Floats of the largest intermediate (between two axes); 0 with one axis or none.
    int64_t scratch_floats() const;
};

// The node's attributes with its inputs (`inputs[k]` is node input k, nullptr
// when absent; input 0's values are not read, `x` is its shape); node.error
// for what tern does not run or the spec forbids. `is_upsample`: the Upsample
// op (opset 7-9).
ResizePlan plan_resize(const Node& n, int64_t opset, bool is_upsample, const Shape& x,
                       const std::vector<const Tensor*>& inputs);

// y = the plan applied to x. `scratch` holds 2 * scratch_floats() floats
// (two ping-pong intermediates). Axes are threaded over their outer index.
void run_resize_plan(const ResizePlan& p, const float* x, float* y, float* scratch);

}  // namespace tern::graph
