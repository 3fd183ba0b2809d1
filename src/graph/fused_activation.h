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
#include "kernels/elementwise/elementwise.h"

namespace tern::graph {

struct FusedActivation {
    // hard_swish_div is (v * Clip(v + a, b, c)) / d, hardswish as Paddle's exporter
    // writes it (Add, Clip, Mul, Div), computed in the same order for the same bits.
    enum class Kind { none, relu, clip, hard_sigmoid, hard_swish, leaky_relu, hard_swish_div };
    Kind kind = Kind::none;
    // clip: lo, hi; hard_sigmoid / hard_swish: alpha, beta; leaky_relu: alpha;
    // hard_swish_div: shift, lo, hi, divisor
    float a = 0, b = 0, c = 0, d = 1;

    // In place over n values, on the elementwise kernel: its scalar reference
    // (kernels/elementwise/ref.cpp) holds the formulas, and every ISA gives
    // their bits, which the unfused ops compute too.
    void apply(float* y, int64_t n) const {
        ActParams p;
        p.a = a, p.b = b, p.c = c, p.d = d;
        switch (kind) {
            case Kind::none: return;
            case Kind::relu: p.kind = ActKind::relu; break;
            case Kind::clip: p.kind = ActKind::clip; break;
            case Kind::hard_sigmoid: p.kind = ActKind::hard_sigmoid; break;
            case Kind::hard_swish: p.kind = ActKind::hard_swish; break;
            case Kind::leaky_relu: p.kind = ActKind::leaky_relu; break;
            case Kind::hard_swish_div: p.kind = ActKind::hard_swish_div; break;
        }
        elementwise_kernel().activate(p, y, n);
    }
};

// Reads a FusedConv node's "activation" / "activation_params"; node.error for an unknown one.
FusedActivation fused_activation_of(const Node& n);
// The attribute values that describe `act` on a FusedConv node.
std::string fused_activation_name(FusedActivation::Kind k);

}  // namespace tern::graph
