// Pointwise activations and dropout.
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/parallel.h"
#include "kernels/elementwise/elementwise.h"
#include "nn/ops.h"

namespace tern::nn {

namespace {


// y = f(x) elementwise; backward gx += gy * df(x, y).
template <class Fwd, class Bwd>
Var pointwise(const Var& x, Fwd fwd, Bwd dfdx) {
    const int64_t n = x.numel();
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(n, 8, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) py[i] = fwd(px[i]);
    });
    return make_result(y, {x}, [x, y, n, dfdx](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* px = x.data();
        const float* py = y.data<float>();
        parallel_items(n, 8, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) gx[i] += g[i] * dfdx(px[i], py[i]);
        });
    });
}

inline float sigmoid_f(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

namespace {
// Branch-free (the sign of an activation is a coin flip, so a branch would
// mispredict half the time), in functions of __restrict pointers so they
// vectorise.
void relu_rows(const float* __restrict x, float* __restrict y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
// y > 0 exactly where x > 0, so the output serves as the mask.
void relu_grad_rows(const float* __restrict y, const float* __restrict g, float* __restrict gx, int64_t n,
                    bool overwrite) {
    // g[i] is read unconditionally: a load inside the select would keep the
    // compiler from if-converting the loop.
    if (overwrite)
        for (int64_t i = 0; i < n; ++i) {
            const float gi = g[i];
            gx[i] = y[i] > 0.0f ? gi : 0.0f;
        }
    else
        for (int64_t i = 0; i < n; ++i) {
            const float gi = g[i];
            gx[i] += y[i] > 0.0f ? gi : 0.0f;
        }
}
}  // namespace

Var relu(const Var& x) {
    const int64_t n = x.numel();
    Tensor y = Tensor::empty(x.shape());
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(n, 2, [&](int64_t i0, int64_t i1) { relu_rows(px + i0, py + i0, i1 - i0); });
    return make_result(y, {x}, [x, y, n](const Tensor& gy) {
        const GradSink gx = grad_sink(x);
        const float* g = gy.data<float>();
        const float* py = y.data<float>();
        parallel_items(n, 2, [&](int64_t i0, int64_t i1) {
            relu_grad_rows(py + i0, g + i0, gx.data + i0, i1 - i0, gx.fresh);
        });
    });
}

Var gelu_tanh(const Var& x) {
    // Forward through the vectorised kernel (same tanh form as GPT-2); the
    // derivative is evaluated here.
    const int64_t n = x.numel();
    Tensor y = Tensor::empty(x.shape());
    const auto& ew = elementwise_kernel();
    const float* px = x.data();
    float* py = y.data<float>();
    parallel_items(n, 8, [&](int64_t i0, int64_t i1) { ew.gelu(px + i0, py + i0, i1 - i0); });
    return make_result(y, {x}, [x, n](const Tensor& gy) {
        constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* px = x.data();
        parallel_items(n, 8, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                const float v = px[i];
                const float u = k * (v + 0.044715f * v * v * v);
                const float t = std::tanh(u);
                const float du = k * (1.0f + 3.0f * 0.044715f * v * v);
                gx[i] += g[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
            }
        });
    });
}

Var silu(const Var& x) {
    return pointwise(
        x, [](float v) { return v * sigmoid_f(v); },
        [](float v, float) {
            const float s = sigmoid_f(v);
            return s * (1.0f + v * (1.0f - s));
        });
}

Var sigmoid(const Var& x) {
    return pointwise(x, sigmoid_f, [](float, float y) { return y * (1.0f - y); });
}

Var tanh(const Var& x) {
    return pointwise(
        x, [](float v) { return std::tanh(v); }, [](float, float y) { return 1.0f - y * y; });
}

namespace {
// Counter-based: element i's keep decision depends only on (seed, i), so the
// mask is the same for any thread count or chunking.
inline uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
}  // namespace

Var dropout(const Var& x, float p, bool training, uint64_t seed) {
    if (p < 0.0f || p >= 1.0f) throw Error("dropout", format("p must be in [0, 1), got %g", p));
    if (!training || p == 0.0f) return pointwise(x, [](float v) { return v; }, [](float, float) { return 1.0f; });
    const int64_t n = x.numel();
    Tensor mask = Tensor::empty(x.shape());  // 0 or 1/(1-p)
    Tensor y = Tensor::empty(x.shape());
    const float keep_scale = 1.0f / (1.0f - p);
    const uint64_t seed_mix = mix64(seed);
    float* pm = mask.data<float>();
    float* py = y.data<float>();
    const float* px = x.data();
    parallel_items(n, 8, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const double u = static_cast<double>(mix64(seed_mix ^ static_cast<uint64_t>(i)) >> 11) * 0x1.0p-53;
            pm[i] = u >= p ? keep_scale : 0.0f;
            py[i] = px[i] * pm[i];
        }
    });
    return make_result(y, {x}, [x, mask, n](const Tensor& gy) {
        float* gx = grad_ptr(x);
        const float* g = gy.data<float>();
        const float* m = mask.data<float>();
        for (int64_t i = 0; i < n; ++i) gx[i] += g[i] * m[i];
    });
}

}  // namespace tern::nn
