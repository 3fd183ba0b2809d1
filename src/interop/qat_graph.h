#pragma once
// A QAT classifier (nn/modules/fake_quant.h quantizers on every Conv2d and
// Linear) as an integer-only QDQ graph that computes what the fake-quant model
// computes, on the grid it learned:
//   - weights: the codes the quantizer rounds to (LSQ's -2^(b-1) included) in
//     int8 DequantizeLinear containers, one learned step per output channel;
//     a BatchNorm after a conv is folded into that step and the bias
//     (s_c * gamma_c / sigma_c; a negative factor negates the channel's codes);
//   - inputs: each layer's learned per-tensor grid (LSQ step, PACT clip / levels,
//     STE's observed range). A layer whose output reaches the next quantized
//     layer only through Relu / Clip / MaxPool / Flatten (all monotone, so they
//     commute with rounding) quantizes its output straight onto the next
//     layer's grid: DQ -> Conv / Gemm -> Q, a Clip of the codes where the grid
//     or a Relu6 is narrower than the 8-bit container, then MaxPool / Flatten
//     on the codes. graph/qdq_fuse.h turns these into QLinearConv.
//   - any other layer (its output read in float by the model: a residual Add,
//     a global average pool, the logits) runs ConvInteger / MatMulInteger on
//     the codes, adds its int32 bias and dequantizes per output channel.
// Only the ops the fake-quant model itself runs in float (residual Add, pooling
// averages, Relu6 on a float tensor) stay float.
#include <string>

#include "graph/graph.h"
#include "nn/modules/module.h"

namespace tern::interop {

struct QatGraphReport {
    bool qat = false;        // the model was a QAT one (the fields below are filled)
    int qdq_layers = 0;      // DQ -> Conv / Gemm -> Q (QLinearConv after qdq_fuse)
    int integer_layers = 0;  // ConvInteger / MatMulInteger with a float epilogue
    int folded_batch_norms = 0;
    int negated_channels = 0;  // output channels whose BN factor was negative
    int weight_bits = 0, act_bits = 0;
};

// The graph of `model` (whose every Conv2d / Linear carries a LayerFakeQuant,
// eval mode) for (N, channels, height, width) inputs. InputError naming
// `where` when a layer has no quantizer, a weight is off its grid, or a code
// cannot be stored (an 8-bit -128 in a channel BN negates).
graph::Graph qat_classifier_graph(nn::UnaryModule& model, const std::string& model_name, int64_t channels,
                                  int64_t height, int64_t width, const std::string& where,
                                  QatGraphReport* report = nullptr);

}  // namespace tern::interop
