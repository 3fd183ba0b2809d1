#pragma once
// The model walkers of `tern cost`: a tern classifier (nn/ zoo model in a
// safetensors file) or an ONNX / TFLite graph, turned into per-layer cost
// records (hw/roofline.h) and latency-table configurations (hw/latency_table.h).
// A classifier's Module tree is walked by classifier_graph (classifier_graph.h),
// the one place that knows every module's graph form, so both kinds of model
// are costed per node of the same graph IR, after the optimizations tern runs
// them with (batch norm folded into convolutions, activations fused).
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"
#include "hw/latency_table.h"
#include "hw/roofline.h"

namespace tern::interop {

struct CostModel {
    std::string path;
    std::string format;                       // "classifier" or "ONNX" / "TFLite"
    graph::Graph graph;                       // optimized
    std::map<std::string, Shape> input_shapes;  // batch 1
    std::map<std::string, Shape> value_shapes;  // every value, from one run on sample inputs
};

// Loads and plans `path`; every problem is InputError(path, ...) (or IoError).
CostModel load_cost_model(const std::string& path);
// Plans a graph already in memory (a zoo model through classifier_graph, a
// searched subnet); `label` stands in for the path in errors and reports.
CostModel cost_model_of(graph::Graph g, const std::string& label, const std::string& format);

// One record per node that computes or moves data (views such as Reshape and
// Flatten are left out).
std::vector<hw::LayerCost> layer_costs(const CostModel& m);

struct NodeLatencyConfig {
    std::string node;
    hw::LayerConfig config;
};
// The latency-table configuration of each node that has one; the names of
// computing nodes that have none go to `uncovered` (their time is not predicted).
std::vector<NodeLatencyConfig> latency_configs(const CostModel& m, std::vector<std::string>* uncovered = nullptr);
std::vector<hw::LayerConfig> configs_only(const std::vector<NodeLatencyConfig>& v);

// Median microseconds of one forward pass of the model on the prepared graph
// executor, batch 1, one thread (the default pool is set to 1 for the call).
double measure_model_latency_us(const CostModel& m, int warmup = 3, int runs = 15);

}  // namespace tern::interop
