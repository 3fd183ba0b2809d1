// softmax and log-softmax over the last dim.
#include <cmath>
#include <cstring>

#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"

namespace tern::nn {

Var softmax(const Var& x) {
    const int64_t C = x.dim(-1), rows = x.numel() / C;
    Tensor y = x.value().clone();
    float* py = y.data<float>();  // (rows, C)
    const auto& ew = elementwise_kernel();
    parallel_items(rows, 4 * C, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) ew.softmax(py + r * C, C, 1.0f);
    });
    return make_result(y, {x}, [x, y, rows, C](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* p = y.data<float>();
        parallel_items(rows, 4 * C, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                const float* gr = g + r * C;
                const float* pr = p + r * C;
                double dot = 0;
                for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(gr[c]) * pr[c];
                for (int64_t c = 0; c < C; ++c) gx[r * C + c] += pr[c] * (gr[c] - static_cast<float>(dot));
            }
        });
    });
}

Var log_softmax(const Var& x) {
    const int64_t C = x.dim(-1), rows = x.numel() / C;
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();  // (rows, C)
    parallel_items(rows, 4 * C, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const float* xr = px + r * C;
            float m = -INFINITY;
            for (int64_t c = 0; c < C; ++c) m = std::fmax(m, xr[c]);
            double s = 0;
            for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(xr[c] - m));
            const float lse = m + static_cast<float>(std::log(s));
            for (int64_t c = 0; c < C; ++c) py[r * C + c] = xr[c] - lse;
        }
    });
    return make_result(y, {x}, [x, y, rows, C](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* ly = y.data<float>();
        parallel_items(rows, 4 * C, [&](int64_t r0, int64_t r1) {
            for (int64_t r = r0; r < r1; ++r) {
                double gs = 0;
                for (int64_t c = 0; c < C; ++c) gs += g[r * C + c];
                for (int64_t c = 0; c < C; ++c)
                    gx[r * C + c] += g[r * C + c] - std::exp(ly[r * C + c]) * static_cast<float>(gs);
            }
        });
    });
}

}  // namespace tern::nn
