// Rotary position embedding; the backward pass is the inverse rotation.
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {
// Rotates rows of (B, T, H, D) in place by the table angles; sin_sign = -1
// applies the inverse rotation.
void rotate(float* x, const std::vector<float>& cos_t, const std::vector<float>& sin_t, int64_t B, int64_t T,
            int64_t H, int64_t D, bool neox, float sin_sign) {
    const auto& ew = elementwise_kernel();
    const int64_t half = D / 2;
    parallel_items(B * T, 4 * H * D, [&](int64_t i0, int64_t i1) {
        std::vector<float> s(half);
        for (int64_t i = i0; i < i1; ++i) {
            const int64_t t = i % T;
            for (int64_t j = 0; j < half; ++j) s[j] = sin_sign * sin_t[t * half + j];
            ew.rope(x + i * H * D, cos_t.data() + t * half, s.data(), H, D, neox);
        }
    });
}
}  // namespace

Var rope(const Var& x, RopeLayout layout, float theta, int64_t pos_offset) {
    if (x.rank() != 4 || x.dim(3) % 2)
        throw Error("rope", "need (B, T, H, D) with even D, got " + shape_to_string(x.shape()));
    const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), D = x.dim(3), half = D / 2;
    // Tables (T, D/2); angle = pos * theta^(-2i/D) evaluated in double, then rounded.
    std::vector<float> cos_t(T * half), sin_t(T * half);
    for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < half; ++i) {
            const double inv_freq = std::pow(static_cast<double>(theta), -2.0 * i / static_cast<double>(D));
            const double a = static_cast<double>(pos_offset + t) * inv_freq;
            cos_t[t * half + i] = static_cast<float>(std::cos(a));
            sin_t[t * half + i] = static_cast<float>(std::sin(a));
        }
    const bool neox = layout == RopeLayout::half_split;
    Tensor y = x.value().clone();
    rotate(y.data<float>(), cos_t, sin_t, B, T, H, D, neox, 1.0f);
    return make_result(y, {x}, [x, cos_t, sin_t, B, T, H, D, neox](const Tensor& gy) {
        Tensor g = gy.clone();
        rotate(g.data<float>(), cos_t, sin_t, B, T, H, D, neox, -1.0f);
        float* gx = grad_ptr(x);
        const float* pg = g.data<float>();
        for (int64_t i = 0; i < g.numel(); ++i) gx[i] += pg[i];
    });
}

}  // namespace tern::nn
