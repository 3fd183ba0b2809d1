#pragma once
// Static post-training quantization of an fp32 graph::Graph into a QDQ model,
// the format ONNX Runtime's quantize_static writes and graph/qdq_fuse.h turns
// into integer-only QLinearConv / QLinearMatMul:
//   - Conv / Gemm / MatMul weights: int8, symmetric, one scale per output
//     channel, behind a DequantizeLinear;
//   - biases: int32 with scale s_x * s_w per output channel;
//   - activations (each such op's input, its output after a following Relu /
//     Clip, and the graph input): per-tensor uint8 or int8 QuantizeLinear ->
//     DequantizeLinear pairs, with ranges from an activation observer
//     (quant/activation_observers.h) fed by the fp32 executor on calibration
//     images (the graph input and outputs always by min-max). Data-movement ops (Flatten, Reshape, MaxPool, ...) share their
//     input's parameters so they run on the codes.
// BatchNormalization after a Conv is folded first.
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "quant/activation_observers.h"
#include "quant/adaround.h"
#include "quant/cross_layer_equalization.h"
#include "quant/graph_weight_refine.h"

namespace tern::quant {

struct GraphPtqOptions {
    ObserverKind observer = ObserverKind::minmax;
    ObserverOptions observer_options;  // its grid is replaced by `grid`
    ActivationGrid grid;               // activations: uint8 asymmetric unless set otherwise
    int64_t batch = 32;                // calibration images per executor run
    std::string where = "quantize";    // names the model in errors
    // Weights: symmetric per-channel codes in [-(2^(bits-1) - 1), 2^(bits-1) - 1],
    // stored in the int8 DequantizeLinear containers whatever the width (so the
    // integer executor and ONNX Runtime run a 4- or 2-bit model unchanged).
    int weight_bits = 8;               // 8, 6, 4 or 2
    // Per-layer widths (quant/mixed_precision.h): the Conv / Gemm / MatMul node's
    // name (after BatchNorm folding) -> bits, overriding weight_bits there.
    // UsageError for a name that is not a quantized layer, or with adaround
    // (its rounding search takes one width).
    std::map<std::string, int> layer_weight_bits;
    bool adaround = false;             // learn the rounding (quant/adaround.h) instead of nearest
    AdaroundOptions adaround_options;
    int64_t adaround_rows = 4096;      // sampled input rows per layer for AdaRound / bias correction
    bool bias_correction = false;      // empirical bias correction (quant/graph_weight_refine.h)
    bool equalize = false;             // cross-layer equalization before quantizing (quant/cross_layer_equalization.h)
};

struct QuantizedActivation {
    std::string tensor;
    FloatRange range;  // what the observer chose
    QuantParams params;
};

// A Conv / Gemm / MatMul whose constant f32 weight graph PTQ quantizes.
struct QuantizableLayer {
    std::string node;      // the node's name
    std::string weight;    // its weight initializer
    int64_t axis = 0;      // the weight's output-channel axis
    int64_t weights = 0;   // elements of the weight
    int bits = 8;          // in a GraphPtqResult: the width its codes were written at
};

struct GraphPtqResult {
    graph::Graph graph;  // the QDQ model
    int quantized_ops = 0;  // Conv / Gemm / MatMul with int8 weights
    std::vector<QuantizableLayer> layers;  // the quantized ops in graph order, with their widths
    std::vector<QuantizedActivation> activations;  // one per observed tensor, in graph order
    EqualizeStats equalized;     // with options.equalize
    WeightRefineStats refined;   // with options.adaround / bias_correction
};

// UsageError unless bits is 8, 6, 4 or 2.
int weight_qmax(int bits);

// The graph PTQ quantizes: constants folded, identities removed, BatchNormalization folded into its Conv.
graph::Graph prepare_float_graph(const graph::Graph& fp32);
// The layers of `g` (a prepared graph) that graph PTQ quantizes, in graph order.
std::vector<QuantizableLayer> quantizable_layers(const graph::Graph& g);
// w rounded to the nearest per-channel symmetric `bits`-wide code and back to
// float: what the QDQ model's weight DequantizeLinear gives. InputError (naming
// `where`) for a NaN / infinite weight.
Tensor fake_quantize_weight(const Tensor& w, int64_t axis, int bits, const std::string& where = "quantize");

// calib: (N, ...) f32 images for the graph's single input (N >= 1; the other
// dims must match the input's known dims). InputError (naming options.where)
// for an empty or wrong-shaped calibration set, a graph with no Conv / Gemm /
// MatMul on constant weights, a graph with other than one float input, or a
// NaN / infinite activation during calibration (naming the tensor).
GraphPtqResult quantize_graph_static(const graph::Graph& fp32, const Tensor& calib, const GraphPtqOptions& options = {});

}  // namespace tern::quant
