#pragma once
// The activation a FusedConv node applies after its convolution, shared by
// the reference op (ops_fused.cpp) and the prepared executor so both give the
// same bits as the unfused Relu / Clip / HardSigmoid / LeakyRelu ops and the
// x * HardSigmoid(x) product.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace tern::graph {

struct FusedActivation {
    enum class Kind { none, relu, clip, hard_sigmoid, hard_swish, leaky_relu };
    Kind kind = Kind::none;
    float a = 0, b = 0;  // clip: lo, hi; hard_sigmoid / hard_swish: alpha, beta; leaky_relu: alpha

    static float relu(float v) { return v > 0.f ? v : (v == v ? 0.f : v); }
    static float hard_sigmoid(float v, float alpha, float beta) {
        return std::max(0.f, std::min(1.f, alpha * v + beta));
    }
    float apply(float v) const {
        switch (kind) {
            case Kind::none: return v;
            case Kind::relu: return relu(v);
            case Kind::clip: return v != v ? v : std::min(b, std::max(a, v));
            case Kind::hard_sigmoid: return hard_sigmoid(v, a, b);
            case Kind::hard_swish: return v * hard_sigmoid(v, a, b);
            case Kind::leaky_relu: return v >= 0.f ? v : a * v;
        }
        return v;
    }
    // In place over n values. One loop per kind, so each loop is branch-free and vectorizes.
    void apply(float* y, int64_t n) const {
        const float p = a, q = b;
        switch (kind) {
            case Kind::none: return;
            case Kind::relu: for (int64_t i = 0; i < n; ++i) y[i] = relu(y[i]); return;
            case Kind::clip:
                for (int64_t i = 0; i < n; ++i) y[i] = y[i] != y[i] ? y[i] : std::min(q, std::max(p, y[i]));
                return;
            case Kind::hard_sigmoid: for (int64_t i = 0; i < n; ++i) y[i] = hard_sigmoid(y[i], p, q); return;
            case Kind::hard_swish: for (int64_t i = 0; i < n; ++i) y[i] = y[i] * hard_sigmoid(y[i], p, q); return;
            case Kind::leaky_relu: for (int64_t i = 0; i < n; ++i) y[i] = y[i] >= 0.f ? y[i] : p * y[i]; return;
        }
    }
};

// Reads a FusedConv node's "activation" / "activation_params"; node.error for an unknown one.
FusedActivation fused_activation_of(const Node& n);
// The attribute values that describe `act` on a FusedConv node.
std::string fused_activation_name(FusedActivation::Kind k);

}  // namespace tern::graph
