#pragma once
// Cross-layer equalization (Nagel et al. 2019, "Data-Free Quantization", sec. 4.1)
// on an fp32 graph after BatchNorm folding: for two linear ops A -> B joined by
// ops that commute with a positive per-channel scale (Relu, MaxPool, nothing),
// output channel i of A is divided by s_i and input channel i of B multiplied
// by it, s_i = sqrt(r1_i * r2_i) / r2_i with r1_i, r2_i the largest |weight| of
// that channel in A and in B. Both then have range sqrt(r1_i * r2_i), which a
// per-channel grid shares better. The function the graph computes is unchanged
// (Relu(x / s) = Relu(x) / s for s > 0). Clip(0, 6) is not positively
// homogeneous, so a ReLU6 ends a pair (MobileNetV2's; DFQ replaced those by
// Relu, which changes the model). Pairs are swept until the scales settle.
#include "graph/graph.h"

namespace tern::quant {

struct EqualizeStats {
    int pairs = 0;   // A -> B pairs found
    int sweeps = 0;  // sweeps over them until every s_i was within 1e-3 of 1
};

// Grouped B (depthwise included) and Conv / Gemm (transB either way) / MatMul on constant f32 weights.
graph::Graph equalize_cross_layer(const graph::Graph& fp32, EqualizeStats* stats = nullptr, int max_sweeps = 20);

}  // namespace tern::quant
