// Scalar references: obviously correct, accumulate in double where a sum feeds
// a normalisation. These are the test truth for the SIMD variants.
#include <algorithm>
#include <cmath>

#include "core/half.h"
#include "kernels/elementwise/elementwise.h"

namespace tern {
namespace {

void rmsnorm_ref(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(n) + eps));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * w[i];
}

void layernorm_ref(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    double mean = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i];
    mean /= static_cast<double>(n);
    double var = 0;
    for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) {
        const float v = static_cast<float>((x[i] - mean) * inv) * w[i];
        y[i] = b ? v + b[i] : v;
    }
}

void softmax_ref(float* x, int64_t n, float scale) {
    if (n <= 0) return;
    float m = x[0] * scale;
    for (int64_t i = 1; i < n; ++i) m = std::fmax(m, x[i] * scale);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] * scale - m);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void silu_mul_ref(const float* g, const float* u, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void gelu_ref(const float* x, float* y, int64_t n) {
    constexpr float kSqrt2OverPi = 0.7978845608028654f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
    }
}

void rope_ref(float* x, const float* c, const float* s, int64_t n_heads, int64_t head_dim, bool neox) {
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; ++h) {
        float* v = x + h * head_dim;
        for (int64_t i = 0; i < half; ++i) {
            const int64_t i0 = neox ? i : 2 * i;
            const int64_t i1 = neox ? i + half : 2 * i + 1;
            const float a = v[i0], b = v[i1];
            v[i0] = a * c[i] - b * s[i];
            v[i1] = a * s[i] + b * c[i];
        }
    }
}

void add_ref(const float* a, const float* b, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

void axpy_ref(float alpha, const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

float dot_ref(const float* a, const float* b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
    return static_cast<float>(s);
}

void sum_sumsq_shifted_ref(const float* x, int64_t n, float k, float* s, float* ss) {
    double a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - k;
        a += d;
        b += d * d;
    }
    *s = static_cast<float>(a);
    *ss = static_cast<float>(b);
}

void sum_dot_centered_ref(const float* d, const float* x, int64_t n, float m, float* sd, float* sdx) {
    double a = 0, b = 0;
    for (int64_t i = 0; i < n; ++i) {
        a += d[i];
        b += static_cast<double>(d[i]) * (static_cast<double>(x[i]) - m);
    }
    *sd = static_cast<float>(a);
    *sdx = static_cast<float>(b);
}

// One row of attend_block.
void attend_row_ref(const float* q, const float* K, const float* V, int64_t nk, int64_t hd, float scale, float* m,
                     float* l, float* o, float* s) {
    if (nk <= 0) return;
    float tile_max = -INFINITY;
    for (int64_t j = 0; j < nk; ++j) {
        s[j] = dot_ref(q, K + j * hd, hd) * scale;
        tile_max = std::fmax(tile_max, s[j]);
    }
    const float m_new = std::fmax(*m, tile_max);
    const float corr = *m == -INFINITY ? 0.0f : std::exp(*m - m_new);  // rescale what earlier tiles summed
    float sum = 0;
    for (int64_t j = 0; j < nk; ++j) {
        s[j] = std::exp(s[j] - m_new);
        sum += s[j];
    }
    for (int64_t i = 0; i < hd; ++i) {
        double acc = static_cast<double>(o[i]) * corr;
        for (int64_t j = 0; j < nk; ++j) acc += static_cast<double>(s[j]) * V[j * hd + i];
        o[i] = static_cast<float>(acc);
    }
    *l = *l * corr + sum;
    *m = m_new;
}

void attend_block_ref(const float* q, int64_t ldq, int64_t rows, const int64_t* live, const float* K, const float* V,
                      int64_t nk, int64_t hd, float scale, float* m, float* l, float* o, float* s) {
    for (int64_t r = 0; r < rows; ++r)
        attend_row_ref(q + r * ldq, K, V, std::clamp<int64_t>(live[r], 0, nk), hd, scale, m + r, l + r, o + r * hd, s);
}

void f16_to_f32_ref(const uint16_t* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

void f32_to_f16_ref(const float* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

}  // namespace

float act_clip(float v, float lo, float hi) { return v != v ? v : std::min(hi, std::max(lo, v)); }
float act_hard_sigmoid(float v, float alpha, float beta) { return std::max(0.f, std::min(1.f, alpha * v + beta)); }

void activation_ref(const ActParams& p, float* y, int64_t n) {
    const float a = p.a, b = p.b, c = p.c, d = p.d;
    switch (p.kind) {
        case ActKind::relu:
            for (int64_t i = 0; i < n; ++i) y[i] = y[i] > 0.f ? y[i] : (y[i] == y[i] ? 0.f : y[i]);
            return;
        case ActKind::clip: for (int64_t i = 0; i < n; ++i) y[i] = act_clip(y[i], a, b); return;
        case ActKind::hard_sigmoid: for (int64_t i = 0; i < n; ++i) y[i] = act_hard_sigmoid(y[i], a, b); return;
        case ActKind::hard_swish: for (int64_t i = 0; i < n; ++i) y[i] = y[i] * act_hard_sigmoid(y[i], a, b); return;
        case ActKind::leaky_relu: for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0.f ? y[i] : a * y[i]; return;
        case ActKind::hard_swish_div: for (int64_t i = 0; i < n; ++i) y[i] = (y[i] * act_clip(y[i] + a, b, c)) / d; return;
    }
}

const ElementwiseKernels kElementwiseScalar = {
    .name = "elementwise_f32_scalar",
    .isa = Isa::scalar,
    .rmsnorm = rmsnorm_ref,
    .layernorm = layernorm_ref,
    .softmax = softmax_ref,
    .silu_mul = silu_mul_ref,
    .gelu = gelu_ref,
    .rope = rope_ref,
    .add = add_ref,
    .axpy = axpy_ref,
    .dot = dot_ref,
    .sum_sumsq_shifted = sum_sumsq_shifted_ref,
    .sum_dot_centered = sum_dot_centered_ref,
    .attend_block = attend_block_ref,
    .f16_to_f32 = f16_to_f32_ref,
    .f32_to_f16 = f32_to_f16_ref,
    .activate = activation_ref,
};

}  // namespace tern
