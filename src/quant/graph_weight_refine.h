#pragma once
// Second pass of graph PTQ (quant/graph_ptq.h) over a QDQ graph whose weights
// are already round-to-nearest codes: layer by layer in graph order, feed the
// calibration images through the QDQ graph (so each layer sees the inputs the
// already-quantized layers before it produce, activations fake-quantized as
// deployed) and through the fp32 graph, then
//   - AdaRound: relearn the layer's weight codes (quant/adaround.h) on paired
//     input rows (Conv: im2col patches at sampled output positions);
//   - bias correction (Nagel et al. 2019, empirical): subtract the mean output
//     error E[W~ x_q - W x_f] per output channel from the bias.
// Codes and int32 bias codes are rewritten in place in the QDQ graph.
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "quant/adaround.h"

namespace tern::quant {

struct WeightRefineOptions {
    bool adaround = false;
    AdaroundOptions adaround_options;
    bool bias_correction = false;
    int qmax = 7;                // weight codes in [-qmax, qmax]
    int64_t rows = 4096;         // sampled input rows per layer (per group of a grouped conv)
    int64_t batch = 32;          // calibration images per executor run
    uint64_t seed = 1;           // which rows are sampled
    std::string where = "quantize";
};

struct RefinedLayer {
    std::string node;
    int axis = 0;  // the weight's output-channel axis (Conv, Gemm transB: 0; Gemm, MatMul: 1)
};

struct WeightRefineStats {
    int adarounded = 0, bias_corrected = 0;
    std::vector<std::string> skipped;  // layers whose geometry the im2col here does not cover (kept as they were)
    double rec_nearest = 0, rec_adaround = 0;  // summed over adarounded layers
};

// fp32: the (BN-folded) float graph the QDQ graph was built from, same node
// names; qdq: its weights behind "<node>_W_quantized" / "_W_scale" and biases
// behind "<node>_B_quantized" / "_B_scale" initializers (graph_ptq's naming).
WeightRefineStats refine_weights(const graph::Graph& fp32, graph::Graph& qdq, const std::vector<RefinedLayer>& layers,
                                 const Tensor& calib, const WeightRefineOptions& options);

}  // namespace tern::quant
