// Gemm and MatMul (numpy batch broadcasting), float32, on ops::sgemm
// (graph/linear_plan.h, which the planned executor's steps share).
#include <algorithm>

#include "graph/linear_plan.h"
#include "graph/op_registry.h"
#include "ops/sgemm.h"

namespace tern::graph {

GemmDims gemm_dims(const Node& n, const Shape& a, const Shape& b, const Shape* c) {
    if (a.size() != 2 || b.size() != 2) {
        throw n.error("A " + shape_to_string(a) + " and B " + shape_to_string(b) + " must both be 2-D for Gemm");
    }
    GemmDims d;
    d.trans_a = n.attr_int("transA", 0) != 0, d.trans_b = n.attr_int("transB", 0) != 0;
    d.alpha = n.attr_float("alpha", 1.f), d.beta = n.attr_float("beta", 1.f);
    d.M = d.trans_a ? a[1] : a[0], d.K = d.trans_a ? a[0] : a[1];
    const int64_t KB = d.trans_b ? b[1] : b[0];
    d.N = d.trans_b ? b[0] : b[1];
    d.lda = a[1], d.ldb = b[1];
    if (d.K != KB) {
        throw n.error(format("A%s gives K = %lld but B%s gives K = %lld", d.trans_a ? "ᵀ" : "", static_cast<long long>(d.K),
                             d.trans_b ? "ᵀ" : "", static_cast<long long>(KB)));
    }
    if (c && d.beta != 0.f) {
        const Shape full{d.M, d.N};
        if (broadcast_shapes(n, *c, full) != full) {
            throw n.error("C " + shape_to_string(*c) + " does not broadcast to " + shape_to_string(full));
        }
        d.add_c = true;
        d.c_strides = broadcast_strides(*c, full);
    }
    return d;
}

void gemm_forward(const GemmDims& d, const float* a, const float* b, const float* c, float* y) {
    if (d.M > 0 && d.N > 0 && d.K > 0) {
        ops::sgemm(d.trans_a, d.trans_b, d.M, d.N, d.K, d.alpha, a, d.lda, b, d.ldb, 0.f, y, d.N);
    } else {
        std::fill(y, y + d.M * d.N, 0.f);
    }
    if (!d.add_c) return;
    for (int64_t i = 0; i < d.M; ++i) {
        for (int64_t j = 0; j < d.N; ++j) y[i * d.N + j] += d.beta * c[i * d.c_strides[0] + j * d.c_strides[1]];
    }
}

void matmul_forward(const MatMulShapes& m, const float* a, const float* b, float* y) {
    const int64_t nb = shape_numel(m.batch);
    if (m.M <= 0 || m.N <= 0 || m.K <= 0) {
        std::fill(y, y + nb * m.M * m.N, 0.f);
        return;
    }
    for (int64_t i = 0; i < nb; ++i) {
        const auto [ia, ib] = m.operands_of(i);
        ops::sgemm(false, false, m.M, m.N, m.K, 1.f, a + ia * m.M * m.K, m.K, b + ib * m.K * m.N, m.N, 0.f,
                   y + i * m.M * m.N, m.N);
    }
}

namespace {

void run_gemm(OpContext& c) {
    const Node& n = c.node;
    const Tensor a = c.input(0).contiguous(), b = c.input(1).contiguous();
    require_f32(n, a, "A");
    require_f32(n, b, "B");
    Tensor cc;  // read only when beta is not 0
    if (c.has_input(2) && n.attr_float("beta", 1.f) != 0.f) {
        cc = c.input(2).contiguous();
        require_f32(n, cc, "C");
    }
    const Shape c_shape = cc.defined() ? cc.shape() : Shape{};
    const GemmDims d = gemm_dims(n, a.shape(), b.shape(), cc.defined() ? &c_shape : nullptr);
    Tensor y = Tensor::empty({d.M, d.N}, DType::f32);
    gemm_forward(d, a.data<float>(), b.data<float>(), cc.defined() ? cc.data<float>() : nullptr, y.data<float>());
    c.out[0] = std::move(y);
}

void run_matmul(OpContext& c) {
    const Node& n = c.node;
    require_f32(n, c.input(0), "A");
    require_f32(n, c.input(1), "B");
    const MatMulShapes m = matmul_shapes(n, c.input(0), c.input(1));
    Tensor y = Tensor::empty(m.out_shape, DType::f32);
    matmul_forward(m, m.a.data<float>(), m.b.data<float>(), y.data<float>());
    c.out[0] = y.reshape(m.result);
}

}  // namespace

std::vector<OpEntry> linear_ops() { return {{"Gemm", run_gemm}, {"MatMul", run_matmul}}; }

}  // namespace tern::graph
