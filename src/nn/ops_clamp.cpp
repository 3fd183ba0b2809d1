// Clamping activations (ReLU6 for MobileNet-style nets).
#include "core/error.h"
#include "nn/ops.h"
#include "nn/parallel.h"

namespace tern::nn {

namespace {
// Loops in functions of plain values and __restrict pointers: inside a
// capturing lambda, a float store could alias the captured lo/hi, which stops
// vectorisation. Both loops are branch-free (min/max and a mask select).
void clamp_rows(const float* __restrict x, float* __restrict y, int64_t n, float lo, float hi) {
    for (int64_t i = 0; i < n; ++i) {
        const float t = x[i] < lo ? lo : x[i];
        y[i] = t > hi ? hi : t;
    }
}

// Gradient passes strictly inside (lo, hi), as PyTorch's hardtanh/relu6.
void clamp_grad_rows(const float* __restrict x, const float* __restrict g, float* __restrict gx, int64_t n, float lo,
                     float hi, bool overwrite) {
    // g[i] is read unconditionally so the select if-converts.
    if (overwrite)
        for (int64_t i = 0; i < n; ++i) {
            const float gi = g[i];
            gx[i] = ((x[i] > lo) & (x[i] < hi)) ? gi : 0.0f;
        }
    else
        for (int64_t i = 0; i < n; ++i) {
            const float gi = g[i];
            gx[i] += ((x[i] > lo) & (x[i] < hi)) ? gi : 0.0f;
        }
}
}  // namespace

Var clamp(const Var& x, float lo, float hi) {
    if (!(lo <= hi)) throw Error("clamp", format("needs lo <= hi, got [%g, %g]", lo, hi));
    const int64_t n = x.numel();
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(n, 2, [&](int64_t i0, int64_t i1) { clamp_rows(px + i0, py + i0, i1 - i0, lo, hi); });
    return make_result(y, {x}, [x, n, lo, hi](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        const float* g = gy.data<float>();
        const float* px = x.data();
        parallel_items(n, 2, [&](int64_t i0, int64_t i1) {
            clamp_grad_rows(px + i0, g + i0, gx.data + i0, i1 - i0, lo, hi, gx.fresh);
        });
    });
}

Var relu6(const Var& x) { return clamp(x, 0.0f, 6.0f); }

}  // namespace tern::nn
