#pragma once
// tern quantize M -o OUT.onnx --method mixed --avg-bits B | --size-kb S
// [--bit-choices 8,6,4,2] [--val-images N] [--pareto-png P] [--json]: per-layer
// weight widths by measured sensitivity (quant/mixed_precision.h). Sensitivity
// and the Pareto points are measured on the validation images `tern train`
// holds out of the training split (its default: 5000 images, seed 1, the split
// the models in models/ were trained without), never on the test split.
#include <string>
#include <vector>

#include "cli/quantize_graph.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "nn/data/image_dataset.h"
#include "quant/graph_ptq.h"

namespace tern::cli {

struct MixedBudget {
    double avg_bits = 0;
    int64_t bytes = 0;
    std::vector<int> bit_choices;
};

// UsageError for no budget, both, a non-positive or non-finite one, or bad --bit-choices.
MixedBudget parse_mixed_budget(const QuantizeGraphOptions& o);

// The library's budget checks, run before the images are loaded.
void check_mixed_budget(const MixedBudget& budget, const quant::GraphPtqOptions& ptq, const graph::Graph& fp32);

void run_quantize_mixed(const QuantizeGraphOptions& o, const MixedBudget& budget, const quant::GraphPtqOptions& ptq,
                        const graph::Graph& fp32, const Tensor& calib, const std::string& calib_text,
                        const data::ImageDataset& train);

}  // namespace tern::cli
