// matmul and linear; every product goes through sgemm (matmul_backend.h).
#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "nn/matmul_backend.h"
#include "nn/ops.h"

namespace tern::nn {

Var matmul(const Var& a, const Var& b) {
    if (a.rank() < 2 || b.rank() < 2) throw Error("matmul", "operands need rank >= 2");
    const int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
    if (b.dim(-2) != K)
        throw Error("matmul", "inner dims differ: " + shape_to_string(a.shape()) + " x " + shape_to_string(b.shape()));
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    out_shape.push_back(N);
    Tensor y = Tensor::empty(out_shape);
    if (b.rank() == 2) {
        // (batch*M, K) x (K, N): one product with the batch folded into M.
        const int64_t rows = a.numel() / K;
        sgemm(false, false, rows, N, K, 1.0f, a.data(), K, b.data(), N, 0.0f, y.data<float>(), N);
        return make_result(y, {a, b}, [a, b, rows, N, K](const Tensor& gy) {
            const float* g = gy.data<float>();  // (rows, N)
            if (float* ga = grad_ptr(a)) sgemm(false, true, rows, K, N, 1.0f, g, N, b.data(), N, 1.0f, ga, K);
            if (float* gb = grad_ptr(b)) sgemm(true, false, K, N, rows, 1.0f, a.data(), K, g, N, 1.0f, gb, N);
        });
    }
    if (Shape(a.shape().begin(), a.shape().end() - 2) != Shape(b.shape().begin(), b.shape().end() - 2))
        throw Error("matmul", "batch dims differ: " + shape_to_string(a.shape()) + " x " + shape_to_string(b.shape()));
    const int64_t batch = a.numel() / (M * K);
    float* py = y.data<float>();
    parallel_items(batch, 2 * M * N * K, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i)
            sgemm(false, false, M, N, K, 1.0f, a.data() + i * M * K, K, b.data() + i * K * N, N, 0.0f, py + i * M * N,
                  N);
    });
    return make_result(y, {a, b}, [a, b, batch, M, N, K](const Tensor& gy) {
        const float* g = gy.data<float>();  // (batch, M, N)
        float* ga = grad_ptr(a);
        float* gb = grad_ptr(b);
        parallel_items(batch, 2 * M * N * K, [&](int64_t b0, int64_t b1) {
            for (int64_t i = b0; i < b1; ++i) {
                const float* gi = g + i * M * N;
                if (ga) sgemm(false, true, M, K, N, 1.0f, gi, N, b.data() + i * K * N, N, 1.0f, ga + i * M * K, K);
                if (gb) sgemm(true, false, K, N, M, 1.0f, a.data() + i * M * K, K, gi, N, 1.0f, gb + i * K * N, N);
            }
        });
    });
}

Var linear(const Var& x, const Var& weight, const Var& bias) {
    if (weight.rank() != 2) throw Error("linear", "weight must be (out, in), got " + shape_to_string(weight.shape()));
    const int64_t out = weight.dim(0), in = weight.dim(1);
    if (x.rank() < 1 || x.dim(-1) != in)
        throw Error("linear", "input " + shape_to_string(x.shape()) + " does not end in " + std::to_string(in));
    if (bias.defined() && bias.numel() != out) throw Error("linear", "bias size differs from out features");
    const int64_t rows = x.numel() / in;
    Shape out_shape = x.shape();
    out_shape.back() = out;
    Tensor y = Tensor::empty(out_shape);
    float* py = y.data<float>();  // (rows, out)
    // The bias rides in the GEMM's epilogue: no second pass over y.
    sgemm(false, true, rows, out, in, 1.0f, x.data(), in, weight.data(), in, 0.0f, py, out,
          bias.defined() ? bias.data() : nullptr);
    std::vector<Var> parents{x, weight};
    if (bias.defined()) parents.push_back(bias);
    return make_result(y, parents, [x, weight, bias, rows, in, out](const Tensor& gy) {
        const float* g = gy.data<float>();  // (rows, out)
        if (const GradSink gx = grad_sink(x))  // a fresh gradient is written (beta 0), not zero-filled and added
            sgemm(false, false, rows, in, out, 1.0f, g, out, weight.data(), in, gx.fresh ? 0.0f : 1.0f, gx.data, in);
        if (float* gw = grad_ptr(weight)) sgemm(true, false, out, in, rows, 1.0f, g, out, x.data(), in, 1.0f, gw, in);
        if (float* gb = grad_ptr(bias)) {
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t j = 0; j < out; ++j) gb[j] += g[r * out + j];
        }
    });
}

}  // namespace tern::nn
