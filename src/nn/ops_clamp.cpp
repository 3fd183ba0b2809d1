// Clamping activations (ReLU6 for MobileNet-style nets).
#include "nn/ops.h"
#include "nn/parallel.h"

namespace tern::nn {

Var clamp(const Var& x, float lo, float hi) {
    const int64_t n = x.numel();
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(n, 4, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) py[i] = px[i] < lo ? lo : (px[i] > hi ? hi : px[i]);
    });
    return make_result(y, {x}, [x, n, lo, hi](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* px = x.data();
        // Gradient passes strictly inside (lo, hi), as PyTorch's hardtanh/relu6.
        parallel_items(n, 4, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i)
                if (px[i] > lo && px[i] < hi) gx[i] += g[i];
        });
    });
}

Var relu6(const Var& x) { return clamp(x, 0.0f, 6.0f); }

}  // namespace tern::nn
