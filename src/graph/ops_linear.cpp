// Gemm and MatMul (numpy batch broadcasting), float32, on ops::sgemm.
#include "graph/op_registry.h"
#include "graph/op_util.h"
#include "ops/sgemm.h"

namespace tern::graph {

namespace {

void run_gemm(OpContext& c) {
    const Node& n = c.node;
    const Tensor a = c.input(0).contiguous(), b = c.input(1).contiguous();
    require_f32(n, a, "A");
    require_f32(n, b, "B");
    if (a.rank() != 2 || b.rank() != 2) {
        throw n.error("A " + shape_to_string(a.shape()) + " and B " + shape_to_string(b.shape()) +
                      " must both be 2-D for Gemm");
    }
    const bool ta = n.attr_int("transA", 0) != 0, tb = n.attr_int("transB", 0) != 0;
    const float alpha = n.attr_float("alpha", 1.f), beta = n.attr_float("beta", 1.f);
    const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
    const int64_t KB = tb ? b.dim(1) : b.dim(0), N = tb ? b.dim(0) : b.dim(1);
    if (K != KB) {
        throw n.error(format("A%s gives K = %lld but B%s gives K = %lld", ta ? "ᵀ" : "", static_cast<long long>(K),
                             tb ? "ᵀ" : "", static_cast<long long>(KB)));
    }
    Tensor y = Tensor::zeros({M, N}, DType::f32);
    if (M > 0 && N > 0 && K > 0) {
        ops::sgemm(ta, tb, M, N, K, alpha, a.data<float>(), a.dim(1), b.data<float>(), b.dim(1), 0.f,
                   y.data<float>(), N);
    }
    if (c.has_input(2) && beta != 0.f) {
        const Tensor cc = c.input(2).contiguous();
        require_f32(n, cc, "C");
        const Shape full{M, N};
        if (broadcast_shapes(n, cc.shape(), full) != full) {
            throw n.error("C " + shape_to_string(cc.shape()) + " does not broadcast to " + shape_to_string(full));
        }
        const auto st = broadcast_strides(cc.shape(), full);
        const float* pc = cc.data<float>();
        float* py = y.data<float>();
        for (int64_t i = 0; i < M; ++i) {
            for (int64_t j = 0; j < N; ++j) py[i * N + j] += beta * pc[i * st[0] + j * st[1]];
        }
    }
    c.out[0] = std::move(y);
}

void run_matmul(OpContext& c) {
    const Node& n = c.node;
    require_f32(n, c.input(0), "A");
    require_f32(n, c.input(1), "B");
    const MatMulShapes m = matmul_shapes(n, c.input(0), c.input(1));
    Tensor y = Tensor::zeros(m.out_shape, DType::f32);
    const int64_t nb = shape_numel(m.batch);
    for (int64_t i = 0; i < nb && m.M > 0 && m.N > 0 && m.K > 0; ++i) {
        const auto [ia, ib] = m.operands_of(i);
        ops::sgemm(false, false, m.M, m.N, m.K, 1.f, m.a.data<float>() + ia * m.M * m.K, m.K,
                   m.b.data<float>() + ib * m.K * m.N, m.N, 0.f, y.data<float>() + i * m.M * m.N, m.N);
    }
    c.out[0] = y.reshape(m.result);
}

}  // namespace

std::vector<OpEntry> linear_ops() { return {{"Gemm", run_gemm}, {"MatMul", run_matmul}}; }

}  // namespace tern::graph
