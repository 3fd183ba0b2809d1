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
    Tensor a = c.input(0).contiguous(), b = c.input(1).contiguous();
    require_f32(n, a, "A");
    require_f32(n, b, "B");
    if (a.rank() == 0 || b.rank() == 0) throw n.error("MatMul inputs must have at least 1 dim");
    // numpy: a 1-D operand is a row (A) or a column (B) whose unit dim is dropped from the result.
    const bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
    if (a_vec) a = a.reshape({1, a.dim(0)});
    if (b_vec) b = b.reshape({b.dim(0), 1});
    const int64_t M = a.dim(-2), K = a.dim(-1), KB = b.dim(-2), N = b.dim(-1);
    if (K != KB) {
        throw n.error("A " + shape_to_string(c.input(0).shape()) + " and B " + shape_to_string(c.input(1).shape()) +
                      " disagree on the inner dim");
    }
    const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
    const Shape batch = broadcast_shapes(n, a_batch, b_batch);
    Shape out_shape = batch;
    out_shape.push_back(M);
    out_shape.push_back(N);
    Tensor y = Tensor::zeros(out_shape, DType::f32);
    const int64_t nb = shape_numel(batch);
    const auto sa = broadcast_strides(a_batch, batch), sb = broadcast_strides(b_batch, batch);
    std::vector<int64_t> idx(batch.size(), 0);
    for (int64_t i = 0; i < nb && M > 0 && N > 0 && K > 0; ++i) {
        int64_t ia = 0, ib = 0, rem = i;
        for (size_t d = batch.size(); d-- > 0;) {
            const int64_t k = rem % batch[d];
            rem /= batch[d];
            ia += k * sa[d];
            ib += k * sb[d];
        }
        ops::sgemm(false, false, M, N, K, 1.f, a.data<float>() + ia * M * K, K, b.data<float>() + ib * K * N, N, 0.f,
                   y.data<float>() + i * M * N, N);
    }
    if (a_vec) out_shape.erase(out_shape.end() - 2);
    if (b_vec) out_shape.pop_back();
    c.out[0] = y.reshape(out_shape);
}

}  // namespace

std::vector<OpEntry> linear_ops() { return {{"Gemm", run_gemm}, {"MatMul", run_matmul}}; }

}  // namespace tern::graph
