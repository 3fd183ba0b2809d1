#pragma once
// Gemm and MatMul as dims planned from shapes and a forward over raw
// buffers, shared by the reference ops (graph/ops_linear.cpp) and the planned
// executor's prepared steps, so both give the same bits.
#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "graph/op_util.h"

namespace tern::graph {

struct GemmDims {
    bool trans_a = false, trans_b = false;
    float alpha = 1.f, beta = 1.f;
    int64_t M = 0, N = 0, K = 0, lda = 0, ldb = 0;
    bool add_c = false;                // a C input and beta != 0
    std::vector<int64_t> c_strides;    // C's element strides read as broadcast to (M, N)
};

// From the node's attributes and its 2-D A, B (and C when `c` is non-null);
// node.error when the shapes disagree.
GemmDims gemm_dims(const Node& n, const Shape& a, const Shape& b, const Shape* c);

// y (M, N) = alpha op(A) op(B) + beta C; every element of y is written.
void gemm_forward(const GemmDims& d, const float* a, const float* b, const float* c, float* y);

// y (batch..., M, N) = A B for each batch item (numpy broadcasting of the
// batch dims); every element of y is written.
void matmul_forward(const MatMulShapes& m, const float* a, const float* b, float* y);

}  // namespace tern::graph
