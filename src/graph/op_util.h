#pragma once
// Small helpers the op files share: axis normalisation, integer lists held in
// tensors, dtype checks, numpy broadcasting of shapes.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

// Axis in [-rank, rank) -> [0, rank); node.error otherwise.
int64_t normalize_axis(const Node& n, int64_t axis, int64_t rank);
// The values of a 1-D (or scalar) i64 / i32 tensor.
std::vector<int64_t> int_list(const Node& n, const Tensor& t, const char* what);
// node.error unless t is f32 (and contiguous).
void require_f32(const Node& n, const Tensor& t, const char* what);
// numpy's broadcast of two shapes; node.error naming both when they do not fit.
Shape broadcast_shapes(const Node& n, const Shape& a, const Shape& b);
// Element strides of `s` read as broadcast to `out` (0 along broadcast dims), aligned right.
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out);

// numpy matmul of A (..., M, K) and B (..., K, N), shared by MatMul and
// MatMulInteger: a 1-D A is a row and a 1-D B a column (their unit dim is
// dropped from the result); the batch dims broadcast.
struct MatMulShapes {
    Tensor a, b;  // contiguous, rank >= 2
    int64_t M = 0, K = 0, N = 0;
    Shape a_batch, b_batch, batch;
    Shape out_shape;  // batch + (M, N): what the loops write
    Shape result;     // out_shape without the unit dims of 1-D operands
    // The matrix index of batch item i in A and in B.
    std::pair<int64_t, int64_t> operands_of(int64_t i) const;
};
// node.error naming both input shapes when the inner dims disagree or an input is a scalar.
MatMulShapes matmul_shapes(const Node& n, const Tensor& a, const Tensor& b);
// The same from the shapes alone (a and b left undefined): what a planned step needs.
MatMulShapes matmul_dims(const Node& n, const Shape& a, const Shape& b);

}  // namespace tern::graph

namespace tern::graph {

// Padding of each spatial dim for a windowed op (Conv, pools), from `pads`
// or `auto_pad` (SAME_UPPER / SAME_LOWER / VALID). kernel is the dilated extent per dim.
struct SpatialPads {
    std::vector<int64_t> begin, end;
};
SpatialPads spatial_pads(const Node& n, const Shape& in_spatial, const std::vector<int64_t>& dilated_kernel,
                         const std::vector<int64_t>& strides);
// The largest kernel, stride, dilation or pad tern accepts (and the largest declared dim, 2^40, is far below
// what keeps their sums in int64).
inline constexpr int64_t kMaxWindowValue = int64_t{1} << 30;
// An int list attribute of exactly `count` values (each within +-kMaxWindowValue), `fallback` filled when absent.
std::vector<int64_t> attr_ints_sized(const Node& n, const char* attr, size_t count, int64_t fallback);

}  // namespace tern::graph
