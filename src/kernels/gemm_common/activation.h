#pragma once
// Activations fused into GEMM epilogues, scalar definitions. GELU uses the
// tanh approximation, written as x * sigmoid(2u) with u = sqrt(2/pi)(x + 0.044715 x^3),
// which equals 0.5 x (1 + tanh(u)) without the cancellation near u = 0.
#include <cmath>
#include <string_view>

namespace tern {

enum class Activation { none, relu, gelu_tanh, silu };

std::string_view activation_name(Activation act);

namespace gemm {

constexpr float kGeluC0 = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluC1 = 0.044715f;

inline float activate(float x, Activation act) {
    switch (act) {
        case Activation::none: return x;
        case Activation::relu: return x > 0.0f ? x : 0.0f;
        case Activation::gelu_tanh: {
            const float u = kGeluC0 * (x + kGeluC1 * x * x * x);
            return x / (1.0f + std::exp(-2.0f * u));
        }
        case Activation::silu: return x / (1.0f + std::exp(-x));
    }
    return x;
}

// Double-precision truth for tests.
inline double activate_ref(double x, Activation act) {
    switch (act) {
        case Activation::none: return x;
        case Activation::relu: return x > 0.0 ? x : 0.0;
        case Activation::gelu_tanh: return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
        case Activation::silu: return x / (1.0 + std::exp(-x));
    }
    return x;
}

}  // namespace gemm
}  // namespace tern
